"""A month's last day: payroll, depreciation, savings interest and, when the period ends, the tax return."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sage_sandbox.books.banking import JournalLine, PaymentLine, journal, other_payment
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.books.simulation.taxes import Taxes
from sage_sandbox.money import ZERO, cents

DEPRECIATED = ("office_equipment", "motor_vehicles")  # fixed assets, straight line over 36 months


class MonthEnd:
    """Closes a business's month."""

    def __init__(self, context: Context, taxes: Taxes) -> None:
        self.context = context
        self.taxes = taxes

    def close(self, day: date) -> None:
        self._payroll(day)
        self._depreciation(day)
        self._interest(day)
        if day.month % self.context.biz.profile.tax_return_months == 0:
            self.taxes.file_return(day)

    def _payroll(self, day: date) -> None:
        """The payroll journal, then the net pay paid out; taxes and deductions are paid on the 19th."""
        ctx = self.context
        biz, d = ctx.biz, day.isoformat()
        gross = cents(ctx.monthly * Decimal("0.22") * ctx.wobble())
        employer = cents(gross * Decimal("0.12"))
        deductions = cents(gross * Decimal("0.2"))
        net = gross - deductions
        month = day.strftime("%b %Y")
        journal(
            biz,
            date=d,
            ts=ctx.next_ts(),
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
            ts=ctx.next_ts(),
            reference=f"Wages {month}",
            lines=[PaymentLine("net_wages", "Net pay", net, biz.profile.no_tax)],
        )

    def _depreciation(self, day: date) -> None:
        ctx = self.context
        biz = ctx.biz
        lines = []
        for asset in DEPRECIATED:
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
                date=day.isoformat(),
                ts=ctx.next_ts(),
                reference=f"DEPN-{day:%Y%m}",
                description=f"Depreciation {day.strftime('%b %Y')}",
                lines=lines,
            )

    def _interest(self, day: date) -> None:
        ctx = self.context
        biz = ctx.biz
        savings = biz.balances.get("bank_savings", ZERO)
        if savings > 0:
            interest = cents(savings * Decimal("0.002"))
            other_payment(
                biz,
                receipt=True,
                bank=biz.banks["bank_savings"],
                date=day.isoformat(),
                ts=ctx.next_ts(),
                reference="Interest",
                lines=[PaymentLine("interest_income", "Savings interest", interest, biz.profile.no_tax)],
            )
