"""A small business's life, one day at a time.

The same :class:`Simulator` writes the two years of history when the sandbox starts and moves the
books forward when a test calls ``advance``: customers are invoiced and pay (on time, late, in
part, or never), suppliers bill and are paid, rent, payroll, tax returns, depreciation, card
bills, cash deposits and savings sweeps happen on their days, and documents are edited, voided
and deleted. Everything is drawn from one seeded ``random.Random`` per business, consumed in a
fixed order, so the same seed and the same calls give the same books.

Volumes are fractions per day (``invoices_per_day``) accumulated exactly, so a history of ``N``
invoices over ``D`` days has exactly ``N`` invoices.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from sage_sandbox.books.artefacts import (
    PURCHASE_CREDIT_NOTE,
    PURCHASE_INVOICE,
    PURCHASE_QUICK_INVOICE,
    SALES_CREDIT_NOTE,
    SALES_INVOICE,
    SALES_QUICK_CREDIT,
    SALES_QUICK_INVOICE,
    ArtefactKind,
    LineSpec,
    create_artefact,
    post_draft,
)
from sage_sandbox.books.banking import (
    JournalLine,
    PaymentLine,
    bank_deposit,
    bank_transfer,
    journal,
    other_payment,
)
from sage_sandbox.books.business import BankInfo, Business, ContactInfo, Row
from sage_sandbox.books.changes import ChangeRefusedError, delete_posted, edit, is_untouched, void_artefact
from sage_sandbox.books.rates import ExchangeRates
from sage_sandbox.books.settlement import Allocation, allocate_credit_note, delete_payment, record_payment
from sage_sandbox.money import ZERO, cents

# Per sales invoice, how many of each other document a day brings (on average).
RATIOS = {
    "sales_credit_note": Fraction(3, 100),
    "sales_quick_entry": Fraction(3, 100),
    "sales_quick_credit": Fraction(1, 200),
    "purchase_invoice": Fraction(2, 5),
    "purchase_credit_note": Fraction(1, 100),
    "purchase_quick_entry": Fraction(3, 100),
}
# The day's documents in the order they are written: (series, the list it goes to). Each is
# written by ``Simulator._{series}(day)``.
DOCUMENTS = (
    ("sales_invoice", "sales_invoices"),
    ("sales_quick_entry", "sales_quick_entries"),
    ("sales_credit_note", "sales_credit_notes"),
    ("sales_quick_credit", "sales_quick_entries"),
    ("purchase_invoice", "purchase_invoices"),
    ("purchase_credit_note", "purchase_credit_notes"),
    ("purchase_quick_entry", "purchase_quick_entries"),
)
# Lists a business can lack (``Business.unavailable``) with its books still whole: their documents
# are simply never written (a credit note is then never raised, so never allocated either), and
# without ``contact_allocations`` credit notes stay open instead of being allocated.
OPTIONAL_LISTS = frozenset(
    {"sales_credit_notes", "purchase_credit_notes", "sales_quick_entries", "purchase_quick_entries"}
    | {"contact_allocations"}
)
DRAFT_SHARE = 0.02
RECENT = 400  # how many recent documents are candidates for edits, credit notes, voids, deletes


@dataclass(frozen=True)
class Plan:
    """A settlement due on a day: pay ``share`` of what is outstanding (``None``: all of it)."""

    kind: ArtefactKind
    position: int
    contact: int  # index into Business.contacts
    share: Decimal | None = None


class Simulator:
    """Drives one business through time."""

    def __init__(self, biz: Business, seed: int, invoices_per_day: Fraction, first_day: date) -> None:
        self.biz = biz
        self.rng = random.Random(f"{seed}:{biz.number}:activity")
        self.rates = ExchangeRates(seed, biz.number, biz.profile, first_day)
        self.invoices_per_day = invoices_per_day
        self.first_day = first_day
        self._carry: dict[str, Fraction] = defaultdict(Fraction)
        self._due: dict[int, list[Plan]] = defaultdict(list)
        self._recent_sales: deque[int] = deque(maxlen=RECENT)
        self._recent_purchases: deque[int] = deque(maxlen=RECENT)
        self._recent_payments: deque[int] = deque(maxlen=RECENT)
        self._recent_other: deque[int] = deque(maxlen=RECENT)
        self._drafts: list[tuple[ArtefactKind, int, int]] = []
        self._tax_payments: dict[int, Decimal] = {}
        self._customers = [i for i, c in enumerate(biz.contacts) if c.kind == "CUSTOMER"]
        self._suppliers = [i for i, c in enumerate(biz.contacts) if c.kind == "VENDOR"]
        # A few customers bring most of the business (Zipf-like weights).
        self._customer_weights = _cumulative([1 / (i + 1) ** 0.8 for i in range(len(self._customers))])
        self._supplier_weights = _cumulative([1 / (i + 1) ** 0.6 for i in range(len(self._suppliers))])
        self._average_price = sum((i.price for i in biz.items), ZERO) / max(1, len(biz.items))
        # Typical monthly sales (about ten units an invoice): sizes rent, payroll and the rest.
        per_day = Decimal(invoices_per_day.numerator) / Decimal(invoices_per_day.denominator)
        self.monthly = cents(max(Decimal(4000), per_day * 30 * 10 * self._average_price))
        self._ts = 0
        self._end = 0
        self._step = 1.0
        self._current_day = first_day

    # -- the day -------------------------------------------------------------------------------

    def run_day(self, day: date, start_ts: int, end_ts: int, *, changes: bool = True) -> None:
        """Everything that happens on ``day``, stamped between ``start_ts`` and ``end_ts``."""
        expected = float(self.invoices_per_day) * 3 + 8
        self._current_day = day
        self._ts, self._end = start_ts, end_ts
        self._step = max(1.0, (end_ts - start_ts) / expected)
        if day == self.first_day:
            self._opening(day)
        self._calendar(day)
        for series, resource in DOCUMENTS:
            if resource in self.biz.unavailable:
                continue
            write = getattr(self, f"_{series}")
            for _ in range(self._take(series, self.invoices_per_day * RATIOS.get(series, 1))):
                write(day)
        self._settle_due(day)
        if changes:
            self._changes(day)
        if (day + timedelta(days=1)).day == 1:
            self._month_end(day)

    def _take(self, series: str, per_day: Fraction) -> int:
        self._carry[series] += per_day
        whole = int(self._carry[series])
        self._carry[series] -= whole
        return whole

    def _next_ts(self) -> int:
        """The next event's second: time only moves forward; some events share a second."""
        if self.rng.random() >= 0.2:
            self._ts += max(1, int(self._step * self.rng.uniform(0.3, 1.7)))
        self._ts = min(self._ts, self._end)
        return self._ts

    # -- sales -----------------------------------------------------------------------------

    def _customer(self) -> int:
        return self.rng.choices(self._customers, cum_weights=self._customer_weights)[0]

    def _supplier(self) -> int:
        return self.rng.choices(self._suppliers, cum_weights=self._supplier_weights)[0]

    def _rate(self, contact: ContactInfo, day: date) -> Decimal:
        return self.rates.on(contact.currency, day, self.biz.currency)

    def _sales_lines(self, contact: ContactInfo, exchange_rate: Decimal) -> list[LineSpec]:
        profile = self.biz.profile
        tax = contact.tax_rate_id if contact.currency == profile.currency else profile.export
        lines = []
        for _ in range(self.rng.choice((1, 1, 2, 2, 3, 4))):
            item = self.rng.choice(self.biz.items)
            quantity = Decimal(self.rng.randrange(1, 9 if item.resource == "products" else 6))
            lines.append(
                LineSpec(
                    item.description, item.ledger_role, quantity, cents(item.price * exchange_rate), tax, item
                )
            )
        return lines

    def _sales_invoice(self, day: date) -> None:
        index = self._customer()
        contact = self.biz.contacts[index]
        exchange_rate = self._rate(contact, day)
        draft = self.rng.random() < DRAFT_SHARE
        position = create_artefact(
            self.biz,
            SALES_INVOICE,
            contact=contact,
            date=day.isoformat(),
            second_date=(day + timedelta(days=contact.credit_days)).isoformat(),
            lines=self._sales_lines(contact, exchange_rate),
            ts=self._next_ts(),
            exchange_rate=exchange_rate,
            draft=draft,
            reference=f"PO-{self.rng.randrange(10000, 99999)}" if self.rng.random() < 0.3 else None,
        )
        if draft:
            self._drafts.append((SALES_INVOICE, position, index))
        else:
            self._plan_receipt(SALES_INVOICE, position, index, day + timedelta(days=contact.credit_days))
            self._recent_sales.append(position)

    def _plan_receipt(self, kind: ArtefactKind, position: int, index: int, due: date) -> None:
        contact = self.biz.contacts[index]
        if contact.never_pays:
            return
        day = due + timedelta(days=contact.days_late + self.rng.randrange(-2, 3))
        day = max(day, self._today + timedelta(days=1))
        if contact.partial_payer and self.rng.random() < 0.5:
            self._due[day.toordinal()].append(Plan(kind, position, index, Decimal("0.5")))
            day += timedelta(days=self.rng.randrange(14, 45))
        self._due[day.toordinal()].append(Plan(kind, position, index))

    @property
    def _today(self) -> date:
        return self._current_day

    def _sales_quick_entry(self, day: date) -> None:
        index = self._base_currency_contact(self._customer)
        if index is None:
            return
        contact = self.biz.contacts[index]
        net = cents(Decimal(self.rng.randrange(5000, 60000)) / 100)
        position = create_artefact(
            self.biz,
            SALES_QUICK_INVOICE,
            contact=contact,
            date=day.isoformat(),
            second_date=(day + timedelta(days=contact.credit_days)).isoformat(),
            lines=[LineSpec("Batch invoice", "sales_services", Decimal(1), net, contact.tax_rate_id)],
            ts=self._next_ts(),
        )
        self._plan_receipt(SALES_QUICK_INVOICE, position, index, day + timedelta(days=contact.credit_days))

    def _base_currency_contact(self, pick: Callable[[], int]) -> int | None:
        """A contact billed in base currency (Sage has no foreign-currency quick entries)."""
        for _ in range(8):
            index = pick()
            if self.biz.contacts[index].currency == self.biz.currency:
                return index
        return None

    def _sales_credit_note(self, day: date) -> None:
        self._credit_note(SALES_INVOICE, SALES_CREDIT_NOTE, self._recent_sales, "Return", day)

    def _credit_note(
        self, invoice_kind: ArtefactKind, credit_kind: ArtefactKind, recent: deque[int], label: str, day: date
    ) -> None:
        """Credit one unit of a line of a recent open invoice and allocate the note against it."""
        invoice = self._open_recent(invoice_kind, recent)
        if invoice is None:
            return
        position, row = invoice
        contact = self.biz.contact(row["contact"]["id"])
        line = self.rng.choice(row["invoice_lines"])
        item_ref = line.get("product") or line.get("service")
        credit = create_artefact(
            self.biz,
            credit_kind,
            contact=contact,
            date=day.isoformat(),
            second_date=row["date"],
            lines=[
                LineSpec(
                    f"{label}: {line['description']}",
                    self.biz.ledger_role_of[line["ledger_account"]["id"]],
                    Decimal(1),
                    Decimal(line["unit_price"]),
                    line["tax_rate"]["id"],
                    self.biz.item_by_id.get(item_ref["id"]) if item_ref else None,
                )
            ],
            ts=self._next_ts(),
            exchange_rate=Decimal(row["exchange_rate"]),
        )
        self._allocate(contact, invoice_kind, position, credit_kind, credit, day)

    def _sales_quick_credit(self, day: date) -> None:
        index = self._base_currency_contact(self._customer)
        if index is None:
            return
        contact = self.biz.contacts[index]
        net = cents(Decimal(self.rng.randrange(2000, 20000)) / 100)
        create_artefact(
            self.biz,
            SALES_QUICK_CREDIT,
            contact=contact,
            date=day.isoformat(),
            second_date=day.isoformat(),
            lines=[LineSpec("Batch credit", "sales_services", Decimal(1), net, contact.tax_rate_id)],
            ts=self._next_ts(),
        )

    def _allocate(
        self,
        contact: ContactInfo,
        invoice_kind: ArtefactKind,
        invoice: int,
        credit_kind: ArtefactKind,
        credit: int,
        day: date,
    ) -> None:
        if "contact_allocations" in self.biz.unavailable:
            return
        owed = Decimal(self.biz[invoice_kind.resource].get(invoice)["outstanding_amount"])
        available = Decimal(self.biz[credit_kind.resource].get(credit)["outstanding_amount"])
        amount = min(owed, available)
        if amount <= 0:
            return
        allocate_credit_note(
            self.biz,
            contact=contact,
            invoice=Allocation(invoice_kind, invoice, amount),
            credit_note=Allocation(credit_kind, credit, amount),
            date=day.isoformat(),
            ts=self._next_ts(),
        )

    def _open_recent(self, kind: ArtefactKind, recent: deque[int]) -> tuple[int, Row] | None:
        """A recent artefact that is posted and still has something outstanding."""
        collection = self.biz[kind.resource]
        for _ in range(6):
            if not recent:
                return None
            position = recent[self.rng.randrange(len(recent))]
            if not collection.is_live(position):
                continue
            row = collection.get(position)
            if row["status"]["id"] in ("UNPAID", "PART_PAID"):
                return position, row
        return None

    # -- purchases -------------------------------------------------------------------------

    def _purchase_lines(self, contact: ContactInfo, exchange_rate: Decimal) -> list[LineSpec]:
        profile = self.biz.profile
        role = contact.purchase_role or "cost_of_sales"
        tax = contact.tax_rate_id if contact.currency == profile.currency else profile.no_tax
        lines = []
        for _ in range(self.rng.choice((1, 1, 2, 3))):
            # Bought at 30%-120% of a typical selling price: purchases run near a fifth of sales.
            price = cents(self._average_price * Decimal(self.rng.randrange(30, 121)) / 100 * exchange_rate)
            quantity = Decimal(self.rng.randrange(1, 5))
            lines.append(LineSpec(f"{role.replace('_', ' ').title()} supplies", role, quantity, price, tax))
        return lines

    def _purchase_invoice(
        self, day: date, lines: list[LineSpec] | None = None, index: int | None = None
    ) -> int:
        index = self._supplier() if index is None else index
        contact = self.biz.contacts[index]
        exchange_rate = self._rate(contact, day)
        due = day + timedelta(days=contact.credit_days)
        position = create_artefact(
            self.biz,
            PURCHASE_INVOICE,
            contact=contact,
            date=day.isoformat(),
            second_date=due.isoformat(),
            lines=lines or self._purchase_lines(contact, exchange_rate),
            ts=self._next_ts(),
            exchange_rate=exchange_rate,
        )
        pay_day = due + timedelta(days=self.rng.randrange(-5, 3) if self.rng.random() < 0.95 else 30)
        self._due[max(pay_day, day + timedelta(days=1)).toordinal()].append(
            Plan(PURCHASE_INVOICE, position, index)
        )
        self._recent_purchases.append(position)
        return position

    def _purchase_credit_note(self, day: date) -> None:
        self._credit_note(PURCHASE_INVOICE, PURCHASE_CREDIT_NOTE, self._recent_purchases, "Credit", day)

    def _purchase_quick_entry(self, day: date) -> None:
        index = self._base_currency_contact(self._supplier)
        if index is None:
            return
        contact = self.biz.contacts[index]
        net = cents(Decimal(self.rng.randrange(3000, 40000)) / 100)
        due = day + timedelta(days=contact.credit_days)
        position = create_artefact(
            self.biz,
            PURCHASE_QUICK_INVOICE,
            contact=contact,
            date=day.isoformat(),
            second_date=due.isoformat(),
            lines=[
                LineSpec(
                    "Batch bill",
                    contact.purchase_role or "office_costs",
                    Decimal(1),
                    net,
                    contact.tax_rate_id,
                )
            ],
            ts=self._next_ts(),
        )
        self._due[due.toordinal()].append(Plan(PURCHASE_QUICK_INVOICE, position, index))

    # -- settlements -----------------------------------------------------------------------

    def _settle_due(self, day: date) -> None:
        """Pay what is planned for today: one payment per contact, covering all its plans."""
        by_contact: dict[int, list[Plan]] = {}
        for plan in self._due.pop(day.toordinal(), []):
            by_contact.setdefault(plan.contact, []).append(plan)
        for index, plans in by_contact.items():
            contact = self.biz.contacts[index]
            allocations = []
            for plan in plans:
                collection = self.biz[plan.kind.resource]
                if not collection.is_live(plan.position):
                    continue
                owed = Decimal(collection.get(plan.position)["outstanding_amount"])
                amount = owed if plan.share is None else cents(owed * plan.share)
                if amount > 0:
                    allocations.append(Allocation(plan.kind, plan.position, amount))
            if not allocations:
                continue
            on_account = ZERO
            if contact.kind == "CUSTOMER" and self.rng.random() < 0.01:
                on_account = cents(Decimal(self.rng.randrange(1000, 20000)) / 100)
            bank_role = (
                "bank_current"
                if self.rng.random() < 0.93
                else ("bank_cash" if contact.kind == "CUSTOMER" else "bank_card")
            )
            position = record_payment(
                self.biz,
                contact=contact,
                bank=self.biz.banks[bank_role],
                date=day.isoformat(),
                ts=self._next_ts(),
                allocations=allocations,
                on_account=on_account,
                exchange_rate=self._rate(contact, day),
            )
            if contact.currency == self.biz.currency:
                self._recent_payments.append(position)

    # -- the calendar ----------------------------------------------------------------------

    def _opening(self, day: date) -> None:
        """Day one: shareholders put money in, the bank lends, the office is equipped."""
        profile = self.biz.profile
        current = self.biz.banks["bank_current"]
        other_payment(
            self.biz,
            receipt=True,
            bank=current,
            date=day.isoformat(),
            ts=self._next_ts(),
            reference="Share capital",
            lines=[PaymentLine("share_capital", "Shares issued", self.monthly * 6, profile.no_tax)],
        )
        other_payment(
            self.biz,
            receipt=True,
            bank=current,
            date=day.isoformat(),
            ts=self._next_ts(),
            reference="Bank loan",
            lines=[PaymentLine("loans", "Loan drawdown", self.monthly * 6, profile.no_tax)],
        )
        self._equipment(day)

    def _equipment(self, day: date) -> None:
        suppliers = [i for i in self._suppliers if self.biz.contacts[i].currency == self.biz.currency]
        if not suppliers:
            return
        price = cents(self.monthly * Decimal("0.4"))
        tax = self.biz.profile.purchase_tax_rates[0]
        self._purchase_invoice(
            day,
            lines=[LineSpec("Computer equipment", "office_equipment", Decimal(1), price, tax)],
            index=suppliers[0],
        )

    def _calendar(self, day: date) -> None:
        biz, profile, d = self.biz, self.biz.profile, day.isoformat()
        banks = biz.banks
        m = self.monthly
        if day.day == 1:
            self._pay("Rent", "rent", cents(m * Decimal("0.08")), profile.exempt, banks["bank_current"], day)
        if day.day == 3:
            self._pay(
                "Electricity",
                "utilities",
                cents(m * Decimal("0.015") * self._wobble()),
                profile.reduced,
                banks["bank_current"],
                day,
            )
        if day.day == 5:
            self._pay(
                "Loan repayment",
                "loans",
                cents(m * Decimal("0.1")),
                profile.no_tax,
                banks["bank_current"],
                day,
            )
        if day.day == 10:
            self._pay(
                "Broadband and phones",
                "telephone",
                cents(m * Decimal("0.005") * self._wobble()),
                profile.purchase_tax_rates[0],
                banks["bank_card"],
                day,
            )
        if day.day == 15:
            self._pay(
                "Stationery",
                "office_costs",
                cents(m * Decimal("0.01") * self._wobble()),
                profile.purchase_tax_rates[0],
                banks["bank_card"],
                day,
            )
            self._pay(
                "Account fees",
                "bank_charges",
                cents(15 + m * Decimal("0.001")),
                profile.no_tax,
                banks["bank_current"],
                day,
            )
        if day.day == 19:
            owed = -biz.balances.get("payroll_liabilities", ZERO)
            if owed > 0:
                self._pay(
                    "Payroll taxes", "payroll_liabilities", owed, profile.no_tax, banks["bank_current"], day
                )
        if day.day == 25:
            card_debt = -biz.balances.get("bank_card", ZERO)
            if card_debt > 0:
                bank_transfer(
                    biz,
                    source=banks["bank_current"],
                    target=banks["bank_card"],
                    amount=card_debt,
                    date=d,
                    ts=self._next_ts(),
                    description="Credit card repayment",
                )
        if day.day == 28:
            surplus = biz.balances.get("bank_current", ZERO) - m * 3
            if surplus > m:
                amount = Decimal(int(surplus / 100) * 100)
                bank_transfer(
                    biz,
                    source=banks["bank_current"],
                    target=banks["bank_savings"],
                    amount=amount,
                    date=d,
                    ts=self._next_ts(),
                    description="Savings sweep",
                )
        if day.day == 12 and day.month in (1, 5, 9):
            self._equipment(day)
        if day.weekday() in (0, 2, 4):
            self._cash_sale(day)
        if day.weekday() == 4:
            cash = biz.balances.get("bank_cash", ZERO)
            if cash > 50:
                cheques = cents(m * Decimal("0.01")) if self.rng.random() < 0.2 else ZERO
                if cheques:  # cheques taken in at the counter, banked with the cash
                    other_payment(
                        biz,
                        receipt=True,
                        bank=banks["bank_cash"],
                        date=d,
                        ts=self._next_ts(),
                        reference="Cheque sales",
                        lines=[PaymentLine("sales_products", "Cheque sales", cheques, profile.no_tax)],
                    )
                bank_deposit(
                    biz,
                    source=banks["bank_cash"],
                    target=banks["bank_current"],
                    cash=cents(cash * Decimal("0.8")),
                    cheques=cheques,
                    date=d,
                    ts=self._next_ts(),
                )
        if self._tax_payments.get(day.toordinal()):
            amount = self._tax_payments.pop(day.toordinal())
            receipt = amount < 0
            other_payment(
                biz,
                receipt=receipt,
                bank=banks["bank_current"],
                date=d,
                ts=self._next_ts(),
                reference="Tax payment" if not receipt else "Tax refund",
                lines=[
                    PaymentLine(
                        "tax_liability",
                        "Tax return settlement",
                        abs(amount),
                        profile.no_tax,
                    )
                ],
            )

    def _wobble(self) -> Decimal:
        return Decimal(self.rng.randrange(85, 116)) / 100

    def _pay(self, reference: str, role: str, amount: Decimal, tax: str, bank: BankInfo, day: date) -> None:
        if amount <= 0:
            return
        position = other_payment(
            self.biz,
            receipt=False,
            bank=bank,
            date=day.isoformat(),
            ts=self._next_ts(),
            reference=reference,
            lines=[PaymentLine(role, reference, amount, tax)],
        )
        if role in ("office_costs", "telephone"):
            self._recent_other.append(position)

    def _cash_sale(self, day: date) -> None:
        amount = cents(self.monthly * Decimal("0.004") * self._wobble())
        other_payment(
            self.biz,
            receipt=True,
            bank=self.biz.banks["bank_cash"],
            date=day.isoformat(),
            ts=self._next_ts(),
            reference="Counter sales",
            lines=[
                PaymentLine("sales_products", "Counter sales", amount, self.biz.profile.sales_tax_rates[0])
            ],
        )

    def _month_end(self, day: date) -> None:
        biz, profile, d = self.biz, self.biz.profile, day.isoformat()
        gross = cents(self.monthly * Decimal("0.22") * self._wobble())
        employer = cents(gross * Decimal("0.12"))
        deductions = cents(gross * Decimal("0.2"))
        net = gross - deductions
        month = day.strftime("%b %Y")
        journal(
            biz,
            date=d,
            ts=self._next_ts(),
            reference=f"PAYROLL-{day:%Y%m}",
            description=f"Payroll {month}",
            lines=[
                JournalLine("wages", "Gross pay", debit=gross),
                JournalLine("employer_taxes", "Employer taxes", debit=employer),
                JournalLine("payroll_liabilities", "Tax and deductions", credit=deductions + employer),
                JournalLine("net_wages", "Net pay", credit=net),
            ],
        )
        other_payment(
            biz,
            receipt=False,
            bank=biz.banks["bank_current"],
            date=d,
            ts=self._next_ts(),
            reference=f"Wages {month}",
            lines=[PaymentLine("net_wages", "Net pay", net, profile.no_tax)],
        )
        lines = []
        for asset in ("office_equipment", "motor_vehicles"):
            # Straight line over 36 months, never below a zero net book value.
            cost = biz.balances.get(asset, ZERO)
            book_value = cost + biz.balances.get(f"{asset}_depreciation", ZERO)
            charge = min(cents(cost / 36), book_value)
            if charge > 0:
                lines += [
                    JournalLine("depreciation", f"Depreciation {asset.replace('_', ' ')}", debit=charge),
                    JournalLine(f"{asset}_depreciation", "Accumulated depreciation", credit=charge),
                ]
        if lines:
            journal(
                biz,
                date=d,
                ts=self._next_ts(),
                reference=f"DEPN-{day:%Y%m}",
                description=f"Depreciation {month}",
                lines=lines,
            )
        savings = biz.balances.get("bank_savings", ZERO)
        if savings > 0:
            other_payment(
                biz,
                receipt=True,
                bank=biz.banks["bank_savings"],
                date=d,
                ts=self._next_ts(),
                reference="Interest",
                lines=[
                    PaymentLine(
                        "interest_income",
                        "Savings interest",
                        cents(savings * Decimal("0.002")),
                        profile.no_tax,
                    )
                ],
            )
        if day.month % profile.tax_return_months == 0:
            self._tax_return(day)

    def _tax_return(self, day: date) -> None:
        """Clear the period's tax accounts into the liability and plan its payment."""
        biz = self.biz
        output = -biz.balances.get("sales_tax", ZERO)
        recoverable = biz.balances.get("purchase_tax", ZERO) if biz.profile.recoverable_purchase_tax else ZERO
        due = output - recoverable
        if output == 0 and recoverable == 0:
            return
        lines = [
            JournalLine("sales_tax", "Output tax", debit=output)
            if output >= 0
            else JournalLine("sales_tax", "Output tax", credit=-output)
        ]
        if recoverable:
            lines.append(
                JournalLine("purchase_tax", "Input tax", credit=recoverable)
                if recoverable > 0
                else JournalLine("purchase_tax", "Input tax", debit=-recoverable)
            )
        lines.append(
            JournalLine("tax_liability", "Tax due", credit=due)
            if due >= 0
            else JournalLine("tax_liability", "Tax refund due", debit=-due)
        )
        journal(
            biz,
            date=day.isoformat(),
            ts=self._next_ts(),
            reference=f"TAX-{day:%Y%m}",
            description="Tax return",
            lines=lines,
        )
        if due:
            self._tax_payments[
                (day + timedelta(days=37 if biz.profile.tax_return_months == 3 else 20)).toordinal()
            ] = due

    # -- edits, voids, deletes ---------------------------------------------------------------

    def _changes(self, day: date) -> None:
        scale = self.invoices_per_day
        for _ in range(self._take("edit", scale * Fraction(1, 20) + Fraction(1, 10))):
            self._edit_invoice()
        for _ in range(self._take("edit_contact", scale * Fraction(1, 100) + Fraction(1, 20))):
            contact = self.biz.contacts[self.rng.randrange(len(self.biz.contacts))]
            edit(self.biz, "contacts", contact.position, self._next_ts(), notes=f"Reviewed {day.isoformat()}")
        # Voids and deletes scale with volume (about 2% of invoices are voided) plus a small
        # base rate, so even tiny test books see every kind of change within weeks.
        for _ in range(self._take("void", scale * Fraction(1, 50) + Fraction(1, 60))):
            self._void_invoice()
        for _ in range(self._take("delete_purchase", scale * Fraction(1, 500) + Fraction(1, 40))):
            self._delete_purchase_invoice()
        for _ in range(self._take("delete_payment", scale * Fraction(1, 500) + Fraction(1, 40))):
            self._delete_payment()
        for _ in range(self._take("delete_other", Fraction(1, 30))):
            self._delete_other_payment()
        self._finalise_drafts(day)

    def _edit_invoice(self) -> None:
        if not self._recent_sales:
            return
        position = self._recent_sales[self.rng.randrange(len(self._recent_sales))]
        if self.biz["sales_invoices"].is_live(position):
            edit(
                self.biz, "sales_invoices", position, self._next_ts(), notes="Delivery confirmed by customer"
            )

    def _void_invoice(self) -> None:
        for _ in range(4):
            if not self._recent_sales:
                return
            position = self._recent_sales[self.rng.randrange(len(self._recent_sales))]
            row = self.biz["sales_invoices"].get(position)
            if is_untouched(row):
                void_artefact(self.biz, SALES_INVOICE, position, "Raised in error", self._next_ts())
                return

    def _delete_purchase_invoice(self) -> None:
        collection = self.biz["purchase_invoices"]
        for _ in range(4):
            if not self._recent_purchases:
                return
            position = self._recent_purchases[self.rng.randrange(len(self._recent_purchases))]
            if collection.is_live(position) and is_untouched(collection.get(position)):
                delete_posted(self.biz, "purchase_invoices", position, self._next_ts())
                return

    def _delete_payment(self) -> None:
        if not self._recent_payments:
            return
        position = self._recent_payments[self.rng.randrange(len(self._recent_payments))]
        if self.biz["contact_payments"].is_live(position):
            delete_payment(self.biz, position, self._next_ts())
            # The reopened documents will be paid again: plan a new settlement in a week.
            self._replan_after_delete(position)

    def _replan_after_delete(self, payment_position: int) -> None:
        row = self.biz["contact_payments"].get(payment_position)
        index = self.biz.contact_index[row["contact"]["id"]]
        for allocated in row["allocated_artefacts"]:
            resource = allocated["artefact"]["$path"].split("/")[1]
            position = self.biz[resource].position_of(allocated["artefact"]["id"])
            kind = {
                "sales_invoices": SALES_INVOICE,
                "purchase_invoices": PURCHASE_INVOICE,
                "sales_quick_entries": SALES_QUICK_INVOICE,
            }.get(resource, PURCHASE_QUICK_INVOICE)
            if position is not None:
                self._due[(self._today + timedelta(days=7)).toordinal()].append(Plan(kind, position, index))

    def _delete_other_payment(self) -> None:
        if not self._recent_other:
            return
        position = self._recent_other[self.rng.randrange(len(self._recent_other))]
        if self.biz["other_payments"].is_live(position):
            try:
                delete_posted(self.biz, "other_payments", position, self._next_ts())
            except ChangeRefusedError:
                return

    def _finalise_drafts(self, day: date) -> None:
        keep = []
        for kind, position, index in self._drafts:
            row = self.biz[kind.resource].get(position)
            age = day.toordinal() - _day(row["date"]).toordinal()
            if age >= 3 and self.rng.random() < 0.5:
                post_draft(self.biz, kind, position, self._next_ts())
                self._plan_receipt(kind, position, index, _day(row["due_date"]))
                self._recent_sales.append(position)
            else:
                keep.append((kind, position, index))
        self._drafts = keep


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out
