"""Tax returns: the period's output and input tax cleared into the liability, settled weeks later."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sage_sandbox.books.banking import JournalLine, PaymentLine, journal, other_payment
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.money import ZERO


class Taxes:
    """Files a business's tax returns and pays (or is refunded) what each one says."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._payments: dict[int, Decimal] = {}  # day ordinal -> due (negative: a refund)

    def file_return(self, day: date) -> None:
        """Clear the period's tax accounts into the liability and plan its payment."""
        ctx = self.context
        biz = ctx.biz
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
            ts=ctx.next_ts(),
            reference=f"TAX-{day:%Y%m}",
            description="Tax return",
            lines=lines,
        )
        if due:
            # A VAT quarter is paid 37 days after it ends (1 month + 7 days); US sales tax by the 20th.
            after = 37 if biz.profile.tax_return_months == 3 else 20
            self._payments[(day + timedelta(days=after)).toordinal()] = due

    def settle(self, day: date) -> None:
        """Pay the tax a return made due today, or receive its refund."""
        amount = self._payments.pop(day.toordinal(), ZERO)
        if not amount:
            return
        ctx = self.context
        receipt = amount < 0
        other_payment(
            ctx.biz,
            receipt=receipt,
            bank=ctx.biz.banks["bank_current"],
            date=day.isoformat(),
            ts=ctx.next_ts(),
            reference="Tax payment" if not receipt else "Tax refund",
            lines=[
                PaymentLine("tax_liability", "Tax return settlement", abs(amount), ctx.biz.profile.no_tax)
            ],
        )
