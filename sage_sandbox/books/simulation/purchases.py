"""The purchase side of a day: suppliers' invoices, credit notes and quick entries, each planned for
payment around its due date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sage_sandbox.books.artefacts import (
    PURCHASE_CREDIT_NOTE,
    PURCHASE_INVOICE,
    PURCHASE_QUICK_INVOICE,
    ArtefactSpec,
    LineSpec,
    create_artefact,
)
from sage_sandbox.books.business import ContactInfo
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.books.simulation.credits import credit_note
from sage_sandbox.books.simulation.settlements import Plan, Settlements
from sage_sandbox.money import cents


class Purchases:
    """Writes a business's purchase documents and plans paying them."""

    def __init__(self, context: Context, settlements: Settlements) -> None:
        self.context = context
        self.settlements = settlements

    def invoice(self, day: date, lines: list[LineSpec] | None = None, index: int | None = None) -> int:
        """A supplier's invoice: ``lines`` and supplier ``index`` drawn at random unless given."""
        ctx = self.context
        index = ctx.supplier() if index is None else index
        contact = ctx.biz.contacts[index]
        exchange_rate = ctx.rate(contact, day)
        due = day + timedelta(days=contact.credit_days)
        lines = lines or self._lines(contact, exchange_rate)
        spec = ArtefactSpec(contact, day.isoformat(), due.isoformat(), lines, exchange_rate)
        position = create_artefact(ctx.biz, PURCHASE_INVOICE, spec, ts=ctx.next_ts())
        pay_day = due + timedelta(days=ctx.rng.randrange(-5, 3) if ctx.rng.random() < 0.95 else 30)
        self.settlements.plan(max(pay_day, day + timedelta(days=1)), Plan(PURCHASE_INVOICE, position, index))
        ctx.recent.purchases.append(position)
        return position

    def _lines(self, contact: ContactInfo, exchange_rate: Decimal) -> list[LineSpec]:
        ctx = self.context
        profile = ctx.biz.profile
        role = contact.purchase_role or "cost_of_sales"
        tax = contact.tax_rate_id if contact.currency == profile.currency else profile.no_tax
        lines = []
        for _ in range(ctx.rng.choice((1, 1, 2, 3))):
            # Bought at 30%-120% of a typical selling price: purchases run near a fifth of sales.
            price = cents(ctx.average_price * Decimal(ctx.rng.randrange(30, 121)) / 100 * exchange_rate)
            quantity = Decimal(ctx.rng.randrange(1, 5))
            lines.append(LineSpec(f"{role.replace('_', ' ').title()} supplies", role, quantity, price, tax))
        return lines

    def credit_note(self, day: date) -> None:
        ctx = self.context
        credit_note(ctx, (PURCHASE_INVOICE, PURCHASE_CREDIT_NOTE), ctx.recent.purchases, "Credit", day)

    def quick_entry(self, day: date) -> None:
        ctx = self.context
        index = ctx.base_currency_contact(ctx.supplier)
        if index is None:
            return
        contact = ctx.biz.contacts[index]
        net = cents(Decimal(ctx.rng.randrange(3000, 40000)) / 100)
        due = day + timedelta(days=contact.credit_days)
        line = LineSpec(
            "Batch bill", contact.purchase_role or "office_costs", Decimal(1), net, contact.tax_rate_id
        )
        spec = ArtefactSpec(contact, day.isoformat(), due.isoformat(), [line])
        position = create_artefact(ctx.biz, PURCHASE_QUICK_INVOICE, spec, ts=ctx.next_ts())
        self.settlements.plan(due, Plan(PURCHASE_QUICK_INVOICE, position, index))
