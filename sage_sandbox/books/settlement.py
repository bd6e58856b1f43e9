"""Settling artefacts: customer receipts, supplier payments and credit-note allocations.

Settling moves three things together, so they always agree: the artefact's money fields and
status (``outstanding_amount``, ``total_paid``, ``UNPAID``/``PART_PAID``/``PAID``, ``last_paid``,
``payments_allocations``), the payment or allocation row, and the ledger (control account,
bank, realised exchange difference).

Base-currency outstanding shrinks in proportion to the document-currency outstanding and hits
exactly zero when the document is paid; the control account is cleared by exactly the base
amount the artefact's outstanding dropped by, so the sum of open items always equals the
control account. Paying at a different rate than invoiced posts the difference to the exchange
gain/loss account.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sage_sandbox.books.artefacts import (
    KIND_BY_RESOURCE,
    ArtefactKind,
    currency_ref,
    settlement_status,
    status_ref,
)
from sage_sandbox.books.business import BankInfo, Business, ContactInfo, Ref, Row, iso, make_ref
from sage_sandbox.books.posting import Leg, Posting, new_document, save_posted, unpost
from sage_sandbox.books.reference import PAYMENT_METHODS
from sage_sandbox.money import ZERO, cents, sage_decimal, to_base


@dataclass(frozen=True)
class Allocation:
    """Pay ``amount`` (document currency) of the artefact at ``position``."""

    kind: ArtefactKind
    position: int
    amount: Decimal


@dataclass(frozen=True)
class SettledBy:
    """What settles an artefact, as its ``payments_allocations`` entry records it."""

    date: str
    type: str  # the payment's or allocation's transaction type
    reference: str
    payment: Ref | None = None  # a contact payment, or
    contact_allocation: Ref | None = None  # a contact allocation, against
    counterpart: Ref | None = None  # the allocation's other artefact


def outstanding(biz: Business, kind: ArtefactKind, position: int) -> Decimal:
    return Decimal(biz[kind.resource].get(position)["outstanding_amount"])


def settle(biz: Business, allocation: Allocation, by: SettledBy, ts: int) -> tuple[Ref, Decimal]:
    """Apply ``allocation`` to its artefact; return the artefact's ref and the base amount cleared."""
    kind, amount = allocation.kind, allocation.amount
    collection = biz[kind.resource]
    row = collection.get(allocation.position)
    owed = Decimal(row["outstanding_amount"])
    if not ZERO < amount <= owed:
        raise ValueError(f"cannot settle {amount} of {row['displayed_as']}: {owed} outstanding")
    base_owed = Decimal(row["base_currency_outstanding_amount"])
    left = owed - amount
    base_left = ZERO if left == 0 else cents(base_owed * left / owed)
    _write_settlement(row, left, base_left, amount, ts)
    if "last_paid" in row:  # quick entries do not carry it
        row["last_paid"] = max(by.date, row["last_paid"] or by.date)
    row["payments_allocations"].append(
        {
            "date": by.date,
            "type": by.type,
            "reference": by.reference,
            "amount": sage_decimal(amount),
            "discount": "0.0",
            "contact_allocation": by.contact_allocation,
            "artefact": by.counterpart,
            "contact_payment": by.payment,
            "displayed_as": by.reference,
            "negative_payment": False,
        }
    )
    collection.put(allocation.position, row)
    return make_ref(kind.resource, row["id"], row["displayed_as"]), base_owed - base_left


def unsettle(biz: Business, kind: ArtefactKind, position: int, *, payment_id: str, ts: int) -> None:
    """Undo what the payment ``payment_id`` did to a base-currency artefact (payment deleted)."""
    collection = biz[kind.resource]
    row = collection.get(position)
    if Decimal(row["exchange_rate"]) != 1:
        raise ValueError("only base-currency settlements are reversed by the sandbox")
    kept, amount = [], ZERO
    for entry in row["payments_allocations"]:
        if (entry.get("contact_payment") or {}).get("id") == payment_id:
            amount += Decimal(entry["amount"])
        else:
            kept.append(entry)
    row["payments_allocations"] = kept
    left = Decimal(row["outstanding_amount"]) + amount
    _write_settlement(row, left, left, -amount, ts)
    if "last_paid" in row:
        row["last_paid"] = max((e["date"] for e in kept), default=None)
    collection.put(position, row)


def _write_settlement(row: Row, left: Decimal, base_left: Decimal, paid_now: Decimal, ts: int) -> None:
    total = Decimal(row["total_amount"])
    row["outstanding_amount"] = sage_decimal(left)
    row["base_currency_outstanding_amount"] = sage_decimal(base_left)
    if "total_paid" in row:  # quick entries have no paid totals
        paid = Decimal(row["payments_allocations_total_amount"]) + paid_now
        row["payments_allocations_total_amount"] = sage_decimal(paid)
        row["total_paid"] = sage_decimal(paid + Decimal(row["payments_allocations_total_discount"]))
    row["status"] = status_ref(settlement_status(left, total))
    row["updated_at"] = iso(ts)


def record_payment(
    biz: Business,
    *,
    contact: ContactInfo,
    bank: BankInfo,
    date: str,
    ts: int,
    allocations: list[Allocation],
    on_account: Decimal = ZERO,
    exchange_rate: Decimal = Decimal(1),
) -> int:
    """A customer receipt or supplier payment, allocated to artefacts and/or left on account."""
    side = "sales" if contact.kind == "CUSTOMER" else "purchase"
    sign = 1 if side == "sales" else -1
    control = "debtors" if side == "sales" else "creditors"
    transaction_type = "CUSTOMER_RECEIPT" if side == "sales" else "VENDOR_PAYMENT"
    document = new_document(biz, "contact_payments", series="RCPT" if side == "sales" else "PAY")
    reference, self_ref = document.reference, document.ref
    total = sum((a.amount for a in allocations), ZERO) + on_account
    base_total = to_base(total, exchange_rate)
    legs = [Leg.signed(bank.role, sign * base_total, description=reference, contact=contact.ref)]
    allocated = []
    by = SettledBy(date, transaction_type, reference, payment=self_ref)
    for allocation in allocations:
        artefact, cleared = settle(biz, allocation, by, ts)
        legs.append(
            Leg.signed(control, -allocation.kind.sign * cleared, description=artefact["displayed_as"])
        )
        allocated.append(
            {
                "id": biz.new_line_id(),
                "artefact": artefact,
                "amount": sage_decimal(allocation.amount),
                "discount": "0.0",
            }
        )
    payment_on_account = None
    if on_account:
        base_on_account = to_base(on_account, exchange_rate)
        legs.append(Leg.signed(control, -sign * base_on_account, description=f"{reference} on account"))
        payment_on_account = _on_account_row(
            biz,
            contact,
            reference=reference,
            date=date,
            ts=ts,
            amount=on_account,
            base_amount=base_on_account,
            exchange_rate=exchange_rate,
        )
    legs.extend(exchange_difference(legs))
    save_posted(
        biz,
        document,
        Posting(
            transaction_type=transaction_type,
            date=date,
            ts=ts,
            legs=legs,
            contact=contact.ref,
            total_in_transaction_currency=total,
        ),
        links=True,
        fields={
            "payment_method": make_ref(
                "payment_methods", bank.payment_method, PAYMENT_METHODS[bank.payment_method]
            ),
            "contact": contact.ref,
            "bank_account": bank.ref,
            "date": date,
            "net_amount": sage_decimal(total),
            "tax_amount": "0.0",
            "total_amount": sage_decimal(total),
            "currency": currency_ref(contact.currency),
            "exchange_rate": sage_decimal(exchange_rate),
            "base_currency_net_amount": sage_decimal(base_total),
            "base_currency_tax_amount": "0.0",
            "base_currency_total_amount": sage_decimal(base_total),
            "base_currency_currency_charge": "0.0",
            "reference": reference,
            "allocated_artefacts": allocated,
            "tax_rate": None,
            "payment_on_account": payment_on_account,
            "editable": True,
        },
    )
    return document.position


def exchange_difference(legs: list[Leg]) -> list[Leg]:
    """The leg that makes ``legs`` balance: a realised exchange gain or loss (none if balanced)."""
    residual = sum((leg.debit - leg.credit for leg in legs), ZERO)
    return (
        [Leg.signed("exchange_gain_loss", -residual, description="Realised exchange difference")]
        if residual
        else []
    )


def _on_account_row(
    biz: Business,
    contact: ContactInfo,
    *,
    reference: str,
    date: str,
    ts: int,
    amount: Decimal,
    base_amount: Decimal,
    exchange_rate: Decimal,
) -> Row:
    stamp = iso(ts)
    return {
        "id": biz.new_line_id(),
        "displayed_as": reference,
        "created_at": stamp,
        "updated_at": stamp,
        "contact_name": contact.name,
        "contact_reference": contact.reference,
        "contact": contact.ref,
        "date": date,
        "reference": reference,
        "net_amount": sage_decimal(amount),
        "tax_amount": "0.0",
        "total_amount": sage_decimal(amount),
        "outstanding_amount": sage_decimal(amount),
        "currency": currency_ref(contact.currency),
        "exchange_rate": sage_decimal(exchange_rate),
        "base_currency_net_amount": sage_decimal(base_amount),
        "base_currency_tax_amount": "0.0",
        "base_currency_total_amount": sage_decimal(base_amount),
        "base_currency_outstanding_amount": sage_decimal(base_amount),
        "status": status_ref("UNPAID"),
    }


def delete_payment(biz: Business, position: int, ts: int) -> None:
    """Hard-delete a base-currency payment: its artefacts reopen, its ledger is marked deleted."""
    collection = biz["contact_payments"]
    row = collection.get(position)
    for allocated in row["allocated_artefacts"]:
        resource = allocated["artefact"]["$path"].split("/")[1]
        kind = KIND_BY_RESOURCE[resource]
        artefact_position = biz[resource].position_of(allocated["artefact"]["id"])
        assert artefact_position is not None
        unsettle(biz, kind, artefact_position, payment_id=row["id"], ts=ts)
    unpost(biz, row["transaction"], ts)
    collection.delete(position, ts)


def allocate_credit_note(
    biz: Business,
    *,
    contact: ContactInfo,
    invoice: Allocation,
    credit_note: Allocation,
    date: str,
    ts: int,
) -> int:
    """Set a credit note against an invoice of the same contact (a contact allocation)."""
    if invoice.amount != credit_note.amount:
        raise ValueError("both sides of an allocation settle the same amount")
    side = invoice.kind.side
    transaction_type = "CUSTOMER_ALLOCATION" if side == "sales" else "VENDOR_ALLOCATION"
    control = invoice.kind.control_role
    document = new_document(biz, "contact_allocations", series="ALLOC")
    reference, self_ref = document.reference, document.ref
    invoice_row = biz[invoice.kind.resource].get(invoice.position)
    credit_row = biz[credit_note.kind.resource].get(credit_note.position)
    invoice_ref = make_ref(invoice.kind.resource, invoice_row["id"], invoice_row["displayed_as"])
    credit_ref = make_ref(credit_note.kind.resource, credit_row["id"], credit_row["displayed_as"])
    legs = []
    for allocation, counterpart in ((invoice, credit_ref), (credit_note, invoice_ref)):
        by = SettledBy(
            date, transaction_type, reference, contact_allocation=self_ref, counterpart=counterpart
        )
        artefact, cleared = settle(biz, allocation, by, ts)
        legs.append(
            Leg.signed(control, -allocation.kind.sign * cleared, description=artefact["displayed_as"])
        )
    legs.extend(exchange_difference(legs))
    save_posted(
        biz,
        document,
        Posting(
            transaction_type=transaction_type,
            date=date,
            ts=ts,
            legs=legs,
            contact=contact.ref,
        ),
        links=True,
        fields={
            "date": date,
            "contact": contact.ref,
            "allocated_artefacts": [
                {"id": biz.new_line_id(), "artefact": invoice_ref, "amount": sage_decimal(invoice.amount)},
                {"id": biz.new_line_id(), "artefact": credit_ref, "amount": sage_decimal(-invoice.amount)},
            ],
        },
    )
    return document.position
