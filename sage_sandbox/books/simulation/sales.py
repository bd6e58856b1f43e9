"""The sales side of a day: invoices (some left as drafts a few days), quick entries and credits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sage_sandbox.books.artefacts import (
    SALES_CREDIT_NOTE,
    SALES_INVOICE,
    SALES_QUICK_CREDIT,
    SALES_QUICK_INVOICE,
    ArtefactKind,
    ArtefactSpec,
    LineSpec,
    create_artefact,
    post_draft,
)
from sage_sandbox.books.business import ContactInfo
from sage_sandbox.books.simulation.context import Context, day_of
from sage_sandbox.books.simulation.credits import credit_note
from sage_sandbox.books.simulation.settlements import Settlements
from sage_sandbox.money import cents

DRAFT_SHARE = 0.02  # of sales invoices, saved as drafts and posted days later


class Sales:
    """Writes a business's sales documents and plans the customers' payments of them."""

    def __init__(self, context: Context, settlements: Settlements) -> None:
        self.context = context
        self.settlements = settlements
        self._drafts: list[tuple[ArtefactKind, int, int]] = []  # (kind, position, contact index)

    def invoice(self, day: date) -> None:
        ctx = self.context
        index = ctx.customer()
        contact = ctx.biz.contacts[index]
        exchange_rate = ctx.rate(contact, day)
        draft = ctx.rng.random() < DRAFT_SHARE
        due = day + timedelta(days=contact.credit_days)
        # Drawn in this order (lines, time, then the customer's PO number): the books depend on it.
        lines = self._lines(contact, exchange_rate)
        ts = ctx.next_ts()
        reference = f"PO-{ctx.rng.randrange(10000, 99999)}" if ctx.rng.random() < 0.3 else None
        spec = ArtefactSpec(contact, day.isoformat(), due.isoformat(), lines, exchange_rate, reference)
        position = create_artefact(ctx.biz, SALES_INVOICE, spec, ts=ts, draft=draft)
        if draft:
            self._drafts.append((SALES_INVOICE, position, index))
        else:
            self.settlements.plan_receipt(SALES_INVOICE, position, index, due)
            ctx.recent.sales.append(position)

    def _lines(self, contact: ContactInfo, exchange_rate: Decimal) -> list[LineSpec]:
        ctx = self.context
        profile = ctx.biz.profile
        tax = contact.tax_rate_id if contact.currency == profile.currency else profile.export
        lines = []
        for _ in range(ctx.rng.choice((1, 1, 2, 2, 3, 4))):
            item = ctx.rng.choice(ctx.biz.items)
            quantity = Decimal(ctx.rng.randrange(1, 9 if item.resource == "products" else 6))
            lines.append(
                LineSpec(
                    item.description, item.ledger_role, quantity, cents(item.price * exchange_rate), tax, item
                )
            )
        return lines

    def quick_entry(self, day: date) -> None:
        ctx = self.context
        index = ctx.base_currency_contact(ctx.customer)
        if index is None:
            return
        contact = ctx.biz.contacts[index]
        net = cents(Decimal(ctx.rng.randrange(5000, 60000)) / 100)
        due = day + timedelta(days=contact.credit_days)
        line = LineSpec("Batch invoice", "sales_services", Decimal(1), net, contact.tax_rate_id)
        spec = ArtefactSpec(contact, day.isoformat(), due.isoformat(), [line])
        position = create_artefact(ctx.biz, SALES_QUICK_INVOICE, spec, ts=ctx.next_ts())
        self.settlements.plan_receipt(SALES_QUICK_INVOICE, position, index, due)

    def credit_note(self, day: date) -> None:
        ctx = self.context
        credit_note(ctx, (SALES_INVOICE, SALES_CREDIT_NOTE), ctx.recent.sales, "Return", day)

    def quick_credit(self, day: date) -> None:
        ctx = self.context
        index = ctx.base_currency_contact(ctx.customer)
        if index is None:
            return
        contact = ctx.biz.contacts[index]
        net = cents(Decimal(ctx.rng.randrange(2000, 20000)) / 100)
        line = LineSpec("Batch credit", "sales_services", Decimal(1), net, contact.tax_rate_id)
        spec = ArtefactSpec(contact, day.isoformat(), day.isoformat(), [line])
        create_artefact(ctx.biz, SALES_QUICK_CREDIT, spec, ts=ctx.next_ts())

    def finalise_drafts(self, day: date) -> None:
        """Post about half the drafts three or more days old; the rest wait another day."""
        ctx = self.context
        keep = []
        for kind, position, index in self._drafts:
            row = ctx.biz[kind.resource].get(position)
            age = day.toordinal() - day_of(row["date"]).toordinal()
            if age >= 3 and ctx.rng.random() < 0.5:
                post_draft(ctx.biz, kind, position, ctx.next_ts())
                self.settlements.plan_receipt(kind, position, index, day_of(row["due_date"]))
                ctx.recent.sales.append(position)
            else:
                keep.append((kind, position, index))
        self._drafts = keep
