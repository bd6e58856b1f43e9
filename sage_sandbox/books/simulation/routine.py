"""What happens on set days: the opening, monthly bills, card payoffs, savings sweeps, equipment,
counter sales and their banking, and tax settlements.

The amounts are shares of the business's typical monthly sales (:attr:`Context.monthly`), so a
big sandbox's rent is as plausible as a small one's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sage_sandbox.books.artefacts import LineSpec
from sage_sandbox.books.banking import PaymentLine, bank_deposit, bank_transfer, other_payment
from sage_sandbox.books.business import BankInfo
from sage_sandbox.books.countries import CountryProfile
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.books.simulation.purchases import Purchases
from sage_sandbox.books.simulation.taxes import Taxes
from sage_sandbox.money import ZERO, cents


@dataclass(frozen=True)
class Bill:
    """A bill paid from a bank account on a fixed day of every month, as an other payment."""

    day: int
    reference: str
    role: str  # the ledger account it is charged to
    share: Decimal  # of a typical month's sales
    tax: Callable[[CountryProfile], str]  # its tax rate in the business's country
    bank: str
    metered: bool = False  # varies month to month (0.85-1.15 of the usual amount)
    fee: Decimal = ZERO  # a fixed part on top of the share


def _purchase_rate(profile: CountryProfile) -> str:
    """The usual rate on bought goods (GB: 20% VAT)."""
    return profile.purchase_tax_rates[0]


# The monthly bills: on the 1st rent, the 3rd power, the 5th the loan, the 10th phones, the 15th
# stationery and bank fees (in this order on the same day).
BILLS = (
    Bill(1, "Rent", "rent", Decimal("0.08"), lambda p: p.exempt, "bank_current"),
    Bill(3, "Electricity", "utilities", Decimal("0.015"), lambda p: p.reduced, "bank_current", metered=True),
    Bill(5, "Loan repayment", "loans", Decimal("0.1"), lambda p: p.no_tax, "bank_current"),
    Bill(
        10, "Broadband and phones", "telephone", Decimal("0.005"), _purchase_rate, "bank_card", metered=True
    ),
    Bill(15, "Stationery", "office_costs", Decimal("0.01"), _purchase_rate, "bank_card", metered=True),
    Bill(
        15,
        "Account fees",
        "bank_charges",
        Decimal("0.001"),
        lambda p: p.no_tax,
        "bank_current",
        fee=Decimal(15),
    ),
)
EQUIPMENT_MONTHS = (1, 5, 9)  # new equipment on the 12th of these months
COUNTER_DAYS = (0, 2, 4)  # weekdays with counter sales (Monday, Wednesday, Friday)
BANKING_DAY = 4  # the week's cash is banked on Fridays


class Routine:
    """A business's days by the calendar."""

    def __init__(self, context: Context, purchases: Purchases, taxes: Taxes) -> None:
        self.context = context
        self.purchases = purchases
        self.taxes = taxes

    def opening(self, day: date) -> None:
        """Day one: shareholders put money in, the bank lends, the office is equipped."""
        ctx = self.context
        no_tax = ctx.biz.profile.no_tax
        capital = PaymentLine("share_capital", "Shares issued", ctx.monthly * 6, no_tax)
        loan = PaymentLine("loans", "Loan drawdown", ctx.monthly * 6, no_tax)
        for reference, line in (("Share capital", capital), ("Bank loan", loan)):
            other_payment(
                ctx.biz,
                receipt=True,
                bank=ctx.biz.banks["bank_current"],
                date=day.isoformat(),
                ts=ctx.next_ts(),
                reference=reference,
                lines=[line],
            )
        self._equipment(day)

    def run(self, day: date) -> None:
        for bill in BILLS:
            if bill.day == day.day:
                self._pay_bill(bill, day)
        if day.day == 19:
            self._payroll_taxes(day)
        if day.day == 25:
            self._pay_off_card(day)
        if day.day == 28:
            self._sweep_to_savings(day)
        if day.day == 12 and day.month in EQUIPMENT_MONTHS:
            self._equipment(day)
        if day.weekday() in COUNTER_DAYS:
            self._counter_sales(day)
        if day.weekday() == BANKING_DAY:
            self._bank_the_cash(day)
        self.taxes.settle(day)

    def _pay_bill(self, bill: Bill, day: date) -> None:
        ctx = self.context
        amount = ctx.monthly * bill.share
        if bill.metered:
            amount *= ctx.wobble()
        line = PaymentLine(bill.role, bill.reference, cents(bill.fee + amount), bill.tax(ctx.biz.profile))
        self._pay(line, ctx.biz.banks[bill.bank], day)

    def _payroll_taxes(self, day: date) -> None:
        """What the month's payroll left owing to the tax authority."""
        biz = self.context.biz
        owed = -biz.balances.get("payroll_liabilities", ZERO)
        if owed > 0:
            line = PaymentLine("payroll_liabilities", "Payroll taxes", owed, biz.profile.no_tax)
            self._pay(line, biz.banks["bank_current"], day)

    def _pay(self, line: PaymentLine, bank: BankInfo, day: date) -> None:
        """Pay a bill (referenced by its line's details); office and phone bills may be deleted later."""
        if line.net <= 0:
            return
        ctx = self.context
        position = other_payment(
            ctx.biz,
            receipt=False,
            bank=bank,
            date=day.isoformat(),
            ts=ctx.next_ts(),
            reference=line.details,
            lines=[line],
        )
        if line.ledger_role in ("office_costs", "telephone"):
            ctx.recent.other.append(position)

    def _pay_off_card(self, day: date) -> None:
        """The card's balance is cleared from the current account each month."""
        ctx = self.context
        banks = ctx.biz.banks
        card_debt = -ctx.biz.balances.get("bank_card", ZERO)
        if card_debt > 0:
            bank_transfer(
                ctx.biz,
                source=banks["bank_current"],
                target=banks["bank_card"],
                amount=card_debt,
                date=day.isoformat(),
                ts=ctx.next_ts(),
                description="Credit card repayment",
            )

    def _sweep_to_savings(self, day: date) -> None:
        """Above three months' sales (plus one more as a margin), whole hundreds go to savings."""
        ctx = self.context
        banks, m = ctx.biz.banks, ctx.monthly
        surplus = ctx.biz.balances.get("bank_current", ZERO) - m * 3
        if surplus > m:
            bank_transfer(
                ctx.biz,
                source=banks["bank_current"],
                target=banks["bank_savings"],
                amount=Decimal(int(surplus / 100) * 100),
                date=day.isoformat(),
                ts=ctx.next_ts(),
                description="Savings sweep",
            )

    def _equipment(self, day: date) -> None:
        """A computer from the first supplier billing in base currency (if there is one)."""
        ctx = self.context
        suppliers = [i for i in ctx.suppliers if ctx.biz.contacts[i].currency == ctx.biz.currency]
        if not suppliers:
            return
        price = cents(ctx.monthly * Decimal("0.4"))
        tax = ctx.biz.profile.purchase_tax_rates[0]
        self.purchases.invoice(
            day,
            lines=[LineSpec("Computer equipment", "office_equipment", Decimal(1), price, tax)],
            index=suppliers[0],
        )

    def _counter_sales(self, day: date) -> None:
        ctx = self.context
        amount = cents(ctx.monthly * Decimal("0.004") * ctx.wobble())
        other_payment(
            ctx.biz,
            receipt=True,
            bank=ctx.biz.banks["bank_cash"],
            date=day.isoformat(),
            ts=ctx.next_ts(),
            reference="Counter sales",
            lines=[
                PaymentLine("sales_products", "Counter sales", amount, ctx.biz.profile.sales_tax_rates[0])
            ],
        )

    def _bank_the_cash(self, day: date) -> None:
        """Most of the till goes to the bank, with any cheques taken at the counter this week."""
        ctx = self.context
        biz, banks, d = ctx.biz, ctx.biz.banks, day.isoformat()
        cash = biz.balances.get("bank_cash", ZERO)
        if cash <= 50:
            return
        cheques = cents(ctx.monthly * Decimal("0.01")) if ctx.rng.random() < 0.2 else ZERO
        if cheques:
            line = PaymentLine("sales_products", "Cheque sales", cheques, biz.profile.no_tax)
            other_payment(
                biz,
                receipt=True,
                bank=banks["bank_cash"],
                date=d,
                ts=ctx.next_ts(),
                reference=line.details,
                lines=[line],
            )
        bank_deposit(
            biz,
            source=banks["bank_cash"],
            target=banks["bank_current"],
            cash=cents(cash * Decimal("0.8")),
            cheques=cheques,
            date=d,
            ts=ctx.next_ts(),
        )
