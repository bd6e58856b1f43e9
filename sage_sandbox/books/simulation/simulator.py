"""One business's day, in the order its parts always act (the shared dice are drawn in that order)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction

from sage_sandbox.books.business import Business
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.books.simulation.corrections import Corrections
from sage_sandbox.books.simulation.month_end import MonthEnd
from sage_sandbox.books.simulation.purchases import Purchases
from sage_sandbox.books.simulation.routine import Routine
from sage_sandbox.books.simulation.sales import Sales
from sage_sandbox.books.simulation.settlements import Settlements
from sage_sandbox.books.simulation.taxes import Taxes

# Per sales invoice, how many of each other document a day brings (on average).
RATIOS = {
    "sales_credit_note": Fraction(3, 100),
    "sales_quick_entry": Fraction(3, 100),
    "sales_quick_credit": Fraction(1, 200),
    "purchase_invoice": Fraction(2, 5),
    "purchase_credit_note": Fraction(1, 100),
    "purchase_quick_entry": Fraction(3, 100),
}


class Simulator:
    """Drives one business through time: each part writes its documents, then the day settles."""

    def __init__(self, biz: Business, seed: int, invoices_per_day: Fraction, first_day: date) -> None:
        self.biz = biz
        self.first_day = first_day
        self.context = Context(biz, seed, invoices_per_day, first_day)
        self.settlements = Settlements(self.context)
        self.sales = Sales(self.context, self.settlements)
        self.purchases = Purchases(self.context, self.settlements)
        taxes = Taxes(self.context)
        self.routine = Routine(self.context, self.purchases, taxes)
        self.month_end = MonthEnd(self.context, taxes)
        self.corrections = Corrections(self.context, self.settlements)

    def _documents(self) -> tuple[tuple[str, str, Callable[[date], object]], ...]:
        """The day's documents in the order they are written: (series, the list it goes to, writer)."""
        return (
            ("sales_invoice", "sales_invoices", self.sales.invoice),
            ("sales_quick_entry", "sales_quick_entries", self.sales.quick_entry),
            ("sales_credit_note", "sales_credit_notes", self.sales.credit_note),
            ("sales_quick_credit", "sales_quick_entries", self.sales.quick_credit),
            ("purchase_invoice", "purchase_invoices", self.purchases.invoice),
            ("purchase_credit_note", "purchase_credit_notes", self.purchases.credit_note),
            ("purchase_quick_entry", "purchase_quick_entries", self.purchases.quick_entry),
        )

    def run_day(self, day: date, start_ts: int, end_ts: int, *, changes: bool = True) -> None:
        """Everything that happens on ``day``, stamped between ``start_ts`` and ``end_ts``."""
        ctx = self.context
        ctx.begin_day(day, start_ts, end_ts)
        if day == self.first_day:
            self.routine.opening(day)
        self.routine.run(day)
        for series, resource, write in self._documents():
            if resource in self.biz.unavailable:
                continue
            for _ in range(ctx.take(series, ctx.invoices_per_day * RATIOS.get(series, 1))):
                write(day)
        self.settlements.settle_due(day)
        if changes:
            self.corrections.run(day)
            self.sales.finalise_drafts(day)
        if (day + timedelta(days=1)).day == 1:
            self.month_end.close(day)
