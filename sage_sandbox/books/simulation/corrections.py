"""A day's second thoughts: documents and contacts edited, invoices voided, bills and payments deleted.

Voids and deletes scale with volume (about 2% of invoices are voided) plus a small base rate, so
even tiny test books see every kind of change within weeks.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from sage_sandbox.books.artefacts import SALES_INVOICE
from sage_sandbox.books.changes import ChangeRefusedError, delete_posted, edit, is_untouched, void_artefact
from sage_sandbox.books.settlement import delete_payment
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.books.simulation.settlements import Settlements


class Corrections:
    """Edits, voids and deletes among a business's recent documents."""

    def __init__(self, context: Context, settlements: Settlements) -> None:
        self.context = context
        self.settlements = settlements

    def run(self, day: date) -> None:
        ctx = self.context
        scale = ctx.invoices_per_day
        for _ in range(ctx.take("edit", scale * Fraction(1, 20) + Fraction(1, 10))):
            self._edit_invoice()
        for _ in range(ctx.take("edit_contact", scale * Fraction(1, 100) + Fraction(1, 20))):
            self._edit_contact(day)
        for _ in range(ctx.take("void", scale * Fraction(1, 50) + Fraction(1, 60))):
            self._void_invoice()
        for _ in range(ctx.take("delete_purchase", scale * Fraction(1, 500) + Fraction(1, 40))):
            self._delete_purchase_invoice()
        for _ in range(ctx.take("delete_payment", scale * Fraction(1, 500) + Fraction(1, 40))):
            self._delete_payment()
        for _ in range(ctx.take("delete_other", Fraction(1, 30))):
            self._delete_other_payment()

    def _edit_invoice(self) -> None:
        ctx = self.context
        recent = ctx.recent.sales
        if not recent:
            return
        position = recent[ctx.rng.randrange(len(recent))]
        if ctx.biz["sales_invoices"].is_live(position):
            edit(ctx.biz, "sales_invoices", position, ctx.next_ts(), notes="Delivery confirmed by customer")

    def _edit_contact(self, day: date) -> None:
        ctx = self.context
        contact = ctx.biz.contacts[ctx.rng.randrange(len(ctx.biz.contacts))]
        edit(ctx.biz, "contacts", contact.position, ctx.next_ts(), notes=f"Reviewed {day.isoformat()}")

    def _void_invoice(self) -> None:
        ctx = self.context
        recent = ctx.recent.sales
        for _ in range(4):
            if not recent:
                return
            position = recent[ctx.rng.randrange(len(recent))]
            if is_untouched(ctx.biz["sales_invoices"].get(position)):
                void_artefact(ctx.biz, SALES_INVOICE, position, "Raised in error", ctx.next_ts())
                return

    def _delete_purchase_invoice(self) -> None:
        ctx = self.context
        recent = ctx.recent.purchases
        collection = ctx.biz["purchase_invoices"]
        for _ in range(4):
            if not recent:
                return
            position = recent[ctx.rng.randrange(len(recent))]
            if collection.is_live(position) and is_untouched(collection.get(position)):
                delete_posted(ctx.biz, "purchase_invoices", position, ctx.next_ts())
                return

    def _delete_payment(self) -> None:
        ctx = self.context
        recent = ctx.recent.payments
        if not recent:
            return
        position = recent[ctx.rng.randrange(len(recent))]
        if ctx.biz["contact_payments"].is_live(position):
            delete_payment(ctx.biz, position, ctx.next_ts())
            # The reopened documents will be paid again.
            self.settlements.replan_after_delete(position)

    def _delete_other_payment(self) -> None:
        ctx = self.context
        recent = ctx.recent.other
        if not recent:
            return
        position = recent[ctx.rng.randrange(len(recent))]
        if ctx.biz["other_payments"].is_live(position):
            try:
                delete_posted(ctx.biz, "other_payments", position, ctx.next_ts())
            except ChangeRefusedError:
                return
