"""Sales and purchase artefacts (invoices, credit notes, quick entries) and what they post.

One routine builds all four invoice-like documents from an :class:`ArtefactKind`; the kinds
differ in names (``invoice_lines`` vs ``credit_note_lines``), numbering and the sign of their
postings. Amounts are computed line by line in the document currency, rounded to cents, then
converted to base currency line by line, so every ``base_currency_*`` twin adds up exactly and
the ledger (always in base currency) balances to the cent.

``payments_allocations`` is always the last key of a stored artefact: list responses drop it
unless ``show_payments_allocations=true`` (see ``sage_sandbox.api.rendering``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sage_sandbox.books.business import Business, ContactInfo, ItemInfo, Ref, Row, iso, make_ref
from sage_sandbox.books.posting import Leg, Posting, post
from sage_sandbox.books.reference import ARTEFACT_STATUSES, CURRENCIES, QUICK_ENTRY_TYPES, TRANSACTION_TYPES
from sage_sandbox.money import ZERO, cents, rate, sage_decimal, to_base


@dataclass(frozen=True)
class ArtefactKind:
    resource: str
    side: str  # sales | purchase
    credit_note: bool
    transaction_type: str
    prefix: str
    number_field: str | None  # sales artefacts carry their generated number
    lines_field: str | None  # None: a quick entry (one ledger account, no lines)
    second_date: str  # due_date | original_invoice_date

    @property
    def control_role(self) -> str:
        return "debtors" if self.side == "sales" else "creditors"

    @property
    def sign(self) -> int:
        """+1 when the document debits its control account (sales invoice, purchase credit note)."""
        base = 1 if self.side == "sales" else -1
        return -base if self.credit_note else base


SALES_INVOICE = ArtefactKind(
    "sales_invoices", "sales", False, "SALES_INVOICE", "SI-", "invoice_number", "invoice_lines", "due_date"
)
SALES_CREDIT_NOTE = ArtefactKind(
    "sales_credit_notes",
    "sales",
    True,
    "SALES_CREDIT_NOTE",
    "SCN-",
    "credit_note_number",
    "credit_note_lines",
    "original_invoice_date",
)
PURCHASE_INVOICE = ArtefactKind(
    "purchase_invoices", "purchase", False, "PURCHASE_INVOICE", "PI-", None, "invoice_lines", "due_date"
)
PURCHASE_CREDIT_NOTE = ArtefactKind(
    "purchase_credit_notes",
    "purchase",
    True,
    "PURCHASE_CREDIT_NOTE",
    "PCN-",
    None,
    "credit_note_lines",
    "original_invoice_date",
)
SALES_QUICK_INVOICE = ArtefactKind(
    "sales_quick_entries", "sales", False, "SALES_QUICK_ENTRY_INVOICE", "SQE-", None, None, "due_date"
)
SALES_QUICK_CREDIT = ArtefactKind(
    "sales_quick_entries", "sales", True, "SALES_QUICK_ENTRY_CREDIT_NOTE", "SQE-", None, None, "due_date"
)
PURCHASE_QUICK_INVOICE = ArtefactKind(
    "purchase_quick_entries",
    "purchase",
    False,
    "PURCHASE_QUICK_ENTRY_INVOICE",
    "PQE-",
    None,
    None,
    "due_date",
)
PURCHASE_QUICK_CREDIT = ArtefactKind(
    "purchase_quick_entries",
    "purchase",
    True,
    "PURCHASE_QUICK_ENTRY_CREDIT_NOTE",
    "PQE-",
    None,
    None,
    "due_date",
)


@dataclass(frozen=True)
class LineSpec:
    """What a line sells or buys; amounts follow from quantity, price and tax rate."""

    description: str
    ledger_role: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate_id: str
    item: ItemInfo | None = None


@dataclass(frozen=True)
class _Amounts:
    """Net and tax in the artefact's own currency and in base currency: one line's, or all lines'."""

    net: Decimal
    tax: Decimal
    base_net: Decimal
    base_tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.net + self.tax

    @property
    def base_total(self) -> Decimal:
        return self.base_net + self.base_tax

    @classmethod
    def of(cls, lines: list[_Line]) -> _Amounts:
        return cls(
            sum((c.net for c in lines), ZERO),
            sum((c.tax for c in lines), ZERO),
            sum((c.base_net for c in lines), ZERO),
            sum((c.base_tax for c in lines), ZERO),
        )


@dataclass(frozen=True)
class _Line(_Amounts):
    """One line: what it says, the rate it was converted at, and its amounts."""

    spec: LineSpec
    exchange_rate: Decimal


def status_ref(status: str) -> Ref:
    return make_ref("artefact_statuses", status, ARTEFACT_STATUSES[status])


def currency_ref(code: str) -> Ref:
    return make_ref("currencies", code, f"{CURRENCIES[code]} ({code})")


def settlement_status(outstanding: Decimal, total: Decimal) -> str:
    if outstanding == 0:
        return "PAID"
    return "UNPAID" if outstanding == total else "PART_PAID"


@dataclass(frozen=True)
class ArtefactSpec:
    """What a new artefact says: who, when, what, and in which currency.

    ``second_date`` is the due date (invoices, quick entries) or the original invoice's date
    (credit notes); ``exchange_rate`` is units of the contact's currency per base unit.
    """

    contact: ContactInfo
    date: str
    second_date: str
    lines: list[LineSpec]
    exchange_rate: Decimal = Decimal(1)
    reference: str | None = None


@dataclass(frozen=True)
class _Header:
    """The fields every artefact row starts from."""

    key: str
    number: str
    spec: ArtefactSpec
    amounts: _Amounts
    ts: int


def create_artefact(
    biz: Business, kind: ArtefactKind, spec: ArtefactSpec, *, ts: int, draft: bool = False
) -> int:
    """Create (and unless ``draft``, post) an artefact; return its position."""
    collection = biz[kind.resource]
    position, key = collection.reserve()
    number = f"{kind.prefix}{biz.next_number(kind.prefix)}"
    contact = spec.contact
    computed = [_compute(biz, line, spec.exchange_rate) for line in spec.lines]
    amounts = _Amounts.of(computed)
    displayed = number if kind.number_field or kind.lines_field is None else (spec.reference or number)
    self_ref = make_ref(kind.resource, key, displayed)
    transaction: Ref | None = None
    if not draft:
        legs = _legs(biz, kind, contact, computed, amounts.base_total)
        posting = Posting(kind.transaction_type, spec.date, ts, legs, contact.ref, amounts.total)
        transaction = post(biz, posting, reference=displayed, origin=self_ref)
    header = _Header(key, number, spec, amounts, ts)
    if kind.lines_field is None:
        row = _quick_entry_row(biz, kind, header, computed[0])
    else:
        row = _artefact_row(biz, kind, header, computed)
    row["transaction"] = transaction
    row["status"] = status_ref("DRAFT" if draft else "UNPAID")
    row["currency"] = currency_ref(contact.currency)
    row["exchange_rate"] = sage_decimal(spec.exchange_rate)
    row["inverse_exchange_rate"] = sage_decimal(rate(1 / spec.exchange_rate))
    row["payments_allocations"] = []
    collection.put(position, row)
    return position


def post_draft(biz: Business, kind: ArtefactKind, position: int, ts: int) -> None:
    """Finalise a draft: it gets its transaction and becomes UNPAID (``updated_at`` moves)."""
    collection = biz[kind.resource]
    row = collection.get(position)
    contact = biz.contact(row["contact"]["id"])
    rate_value = Decimal(row["exchange_rate"])
    if kind.lines_field is None:
        specs = [_spec_from_quick_entry(biz, row)]
    else:
        specs = [_spec_from_line(biz, line) for line in row[kind.lines_field]]
    computed = [_compute(biz, spec, rate_value) for spec in specs]
    base_total = sum((c.base_total for c in computed), ZERO)
    self_ref = make_ref(kind.resource, row["id"], row["displayed_as"])
    legs = _legs(biz, kind, contact, computed, base_total)
    posting = Posting(kind.transaction_type, row["date"], ts, legs, contact.ref, Decimal(row["total_amount"]))
    row["transaction"] = post(biz, posting, reference=row["displayed_as"], origin=self_ref)
    row["status"] = status_ref("UNPAID")
    row["updated_at"] = iso(ts)
    collection.put(position, row)


def _legs(
    biz: Business, kind: ArtefactKind, contact: ContactInfo, lines: list[_Line], base_total: Decimal
) -> list[Leg]:
    """Control account for the total; each line's account for its net; the tax account for tax."""
    sign = kind.sign
    legs = [Leg.signed(kind.control_role, sign * base_total, description=contact.name, contact=contact.ref)]
    tax_role = "sales_tax" if kind.side == "sales" else "purchase_tax"
    tax_by_rate: dict[str, Decimal] = {}
    for line in lines:
        legs.append(
            Leg.signed(
                line.spec.ledger_role,
                -sign * line.base_net,
                description=line.spec.description,
                tax_rate=biz.tax_rates[line.spec.tax_rate_id][0],
            )
        )
        if line.base_tax:
            tax_by_rate[line.spec.tax_rate_id] = tax_by_rate.get(line.spec.tax_rate_id, ZERO) + line.base_tax
    for rate_id, amount in tax_by_rate.items():
        tax_rate = biz.tax_rates[rate_id][0]
        legs.append(
            Leg.signed(tax_role, -sign * amount, description=tax_rate["displayed_as"], tax_rate=tax_rate)
        )
    return legs


def _compute(biz: Business, spec: LineSpec, exchange_rate: Decimal) -> _Line:
    percentage = biz.tax_rates[spec.tax_rate_id][1]
    net = cents(spec.quantity * spec.unit_price)
    tax = cents(net * percentage / 100)
    return _Line(
        net=net,
        tax=tax,
        base_net=to_base(net, exchange_rate),
        base_tax=to_base(tax, exchange_rate),
        spec=spec,
        exchange_rate=exchange_rate,
    )


def _spec_from_line(biz: Business, line: Row) -> LineSpec:
    role = biz.ledger_role_of[line["ledger_account"]["id"]]
    item_ref = line.get("product") or line.get("service")
    item = biz.item_by_id.get(item_ref["id"]) if item_ref else None
    return LineSpec(
        line["description"],
        role,
        Decimal(line["quantity"]),
        Decimal(line["unit_price"]),
        line["tax_rate"]["id"],
        item,
    )


def _spec_from_quick_entry(biz: Business, row: Row) -> LineSpec:
    role = biz.ledger_role_of[row["ledger_account"]["id"]]
    return LineSpec(row["details"], role, Decimal(1), Decimal(row["net_amount"]), row["tax_rate"]["id"])


def _address(contact: ContactInfo) -> Row:
    return dict(contact.address)


def _artefact_row(biz: Business, kind: ArtefactKind, header: _Header, lines: list[_Line]) -> Row:
    key, number, amounts, contact = header.key, header.number, header.amounts, header.spec.contact
    reference = header.spec.reference
    stamp = iso(header.ts)
    displayed = number if kind.number_field else (reference or number)
    row: Row = {
        "id": key,
        "displayed_as": displayed,
        "$path": f"/{kind.resource}/{key}",
        "created_at": stamp,
        "updated_at": stamp,
        "links": [],
        "editable": True,
        "vat_reverse_charge": False,
        "transaction": None,
        "transaction_type": make_ref(
            "transaction_types", kind.transaction_type, TRANSACTION_TYPES[kind.transaction_type]
        ),
        "deleted_at": None,
        "is_cis": False,
        "contact": contact.ref,
    }
    if kind.number_field:
        row[f"{kind.number_field}_prefix"] = kind.prefix
        row[kind.number_field] = number
    row.update(
        {
            "contact_name": contact.name,
            "contact_reference": contact.reference,
            "date": header.spec.date,
            kind.second_date: header.spec.second_date,
            "reference": reference,
        }
    )
    if kind.side == "sales":
        row.update(
            {
                "main_address": _address(contact),
                "delivery_address": None,
                "notes": None,
                "terms_and_conditions": None,
                "shipping_net_amount": "0.0",
                "shipping_tax_rate": None,
                "shipping_tax_amount": "0.0",
                "shipping_total_amount": "0.0",
            }
        )
    else:
        row.update({"vendor_reference": number.replace(kind.prefix, "INV-"), "notes": None})
    total_quantity = sum((line.spec.quantity for line in lines), ZERO)
    row.update(
        {
            "net_amount": sage_decimal(amounts.net),
            "tax_amount": sage_decimal(amounts.tax),
            "total_amount": sage_decimal(amounts.total),
            "payments_allocations_total_amount": "0.0",
            "payments_allocations_total_discount": "0.0",
            "total_paid": "0.0",
            "outstanding_amount": sage_decimal(amounts.total),
            "currency": None,
            "exchange_rate": None,
            "inverse_exchange_rate": None,
            "total_quantity": sage_decimal(total_quantity),
        }
    )
    if kind.side == "sales":  # purchase artefacts have no discount totals
        row.update({"total_discount_amount": "0.0", "base_currency_total_discount_amount": "0.0"})
    row.update(
        {
            "base_currency_net_amount": sage_decimal(amounts.base_net),
            "base_currency_tax_amount": sage_decimal(amounts.base_tax),
            "base_currency_total_amount": sage_decimal(amounts.base_total),
            "base_currency_outstanding_amount": sage_decimal(amounts.base_total),
            "status": None,
        }
    )
    if kind.side == "sales":
        row.update({"sent": False, "sent_by_email": False})
    assert kind.lines_field is not None
    row.update(
        {
            "void_reason": None,
            kind.lines_field: [_line_row(biz, kind, line) for line in lines],
            "tax_analysis": _tax_analysis(biz, lines),
            "detailed_tax_analysis": None,
            "last_paid": None,
            "tax_reconciled": False,
            "migrated": False,
            "tax_calculation_method": "invoice" if biz.profile.code == "GB" else None,
        }
    )
    return row


def _line_row(biz: Business, kind: ArtefactKind, line: _Line) -> Row:
    spec = line.spec
    item = spec.item
    row: Row = {
        "id": biz.new_line_id(),
        "displayed_as": spec.description,
        "description": spec.description,
        "product": item.ref if item and item.resource == "products" else None,
        "service": item.ref if item and item.resource == "services" else None,
        "ledger_account": biz.ledger[spec.ledger_role],
        "trade_of_asset": False,
        "quantity": sage_decimal(spec.quantity),
        "unit_price": sage_decimal(spec.unit_price),
        "net_amount": sage_decimal(line.net),
        "tax_rate": biz.tax_rates[spec.tax_rate_id][0],
        "tax_amount": sage_decimal(line.tax),
        "tax_breakdown": [],
        "total_amount": sage_decimal(line.total),
        "base_currency_unit_price": sage_decimal(to_base(spec.unit_price, line.exchange_rate)),
        "unit_price_includes_tax": False,
        "base_currency_net_amount": sage_decimal(line.base_net),
        "base_currency_tax_amount": sage_decimal(line.base_tax),
        "base_currency_total_amount": sage_decimal(line.base_total),
        "eu_goods_services_type": None,
    }
    if kind.side == "sales":
        row.update(
            {"discount_amount": "0.0", "base_currency_discount_amount": "0.0", "discount_percentage": "0.0"}
        )
    else:
        row.update({"is_purchase_for_resale": spec.ledger_role == "cost_of_sales", "tax_recoverable": True})
    return row


def _tax_analysis(biz: Business, lines: list[_Line]) -> list[Row]:
    groups: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        group = groups.setdefault(
            line.spec.tax_rate_id, {"net": ZERO, "tax": ZERO, "goods": ZERO, "services": ZERO}
        )
        group["net"] += line.net
        group["tax"] += line.tax
        is_service = line.spec.item is not None and line.spec.item.resource == "services"
        group["services" if is_service else "goods"] += line.net
    return [
        {
            "tax_rate": biz.tax_rates[rate_id][0],
            "net_amount": sage_decimal(g["net"]),
            "tax_amount": sage_decimal(g["tax"]),
            "total_amount": sage_decimal(g["net"] + g["tax"]),
            "goods_amount": sage_decimal(g["goods"]),
            "service_amount": sage_decimal(g["services"]),
        }
        for rate_id, g in groups.items()
    ]


def _quick_entry_row(biz: Business, kind: ArtefactKind, header: _Header, line: _Line) -> Row:
    key, number, amounts, contact = header.key, header.number, header.amounts, header.spec.contact
    stamp = iso(header.ts)
    entry_type = "CREDIT_NOTE" if kind.credit_note else "INVOICE"
    row: dict[str, Any] = {
        "id": key,
        "displayed_as": number,
        "$path": f"/{kind.resource}/{key}",
        "created_at": stamp,
        "updated_at": stamp,
        "transaction": None,
        "transaction_type": make_ref(
            "transaction_types", kind.transaction_type, TRANSACTION_TYPES[kind.transaction_type]
        ),
        "deleted_at": None,
        "quick_entry_type": make_ref("quick_entry_types", entry_type, QUICK_ENTRY_TYPES[entry_type]),
        "contact_name": contact.name,
        "contact_reference": contact.reference,
        "contact": contact.ref,
        "date": header.spec.date,
        "due_date": header.spec.second_date,
        "reference": number,
        "ledger_account": biz.ledger[line.spec.ledger_role],
        "details": line.spec.description,
        "net_amount": sage_decimal(amounts.net),
        "tax_rate": biz.tax_rates[line.spec.tax_rate_id][0],
        "tax_amount": sage_decimal(amounts.tax),
        "tax_breakdown": [],
        "total_amount": sage_decimal(amounts.total),
        "outstanding_amount": sage_decimal(amounts.total),
        "currency": None,
        "exchange_rate": None,
        "inverse_exchange_rate": None,
        "base_currency_net_amount": sage_decimal(amounts.base_net),
        "base_currency_tax_amount": sage_decimal(amounts.base_tax),
        "base_currency_total_amount": sage_decimal(amounts.base_total),
        "base_currency_outstanding_amount": sage_decimal(amounts.base_total),
        "status": None,
        "trade_of_asset": False,
        "migrated": False,
    }
    if kind.side == "purchase":
        row["tax_recoverable"] = True
    return row


# The artefact kind to use when only the collection is known (settlement reversal).
KIND_BY_RESOURCE = {
    k.resource: k for k in (SALES_INVOICE, SALES_CREDIT_NOTE, PURCHASE_INVOICE, PURCHASE_CREDIT_NOTE)
} | {"sales_quick_entries": SALES_QUICK_INVOICE, "purchase_quick_entries": PURCHASE_QUICK_INVOICE}
