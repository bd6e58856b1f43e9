"""When contacts pay: settlements planned for a day, then paid on that day.

A document is planned for payment when it is written (or, for a draft, when it is posted);
customers pay on time, late, in halves or never (their :class:`ContactInfo` says which).
Everything due on a day is paid together, one payment per contact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sage_sandbox.books.artefacts import (
    PURCHASE_INVOICE,
    PURCHASE_QUICK_INVOICE,
    SALES_INVOICE,
    SALES_QUICK_INVOICE,
    ArtefactKind,
)
from sage_sandbox.books.settlement import Allocation, record_payment
from sage_sandbox.books.simulation.context import Context
from sage_sandbox.money import ZERO, cents

# What a payment's allocated artefact is, by the list its ``$path`` names.
_KIND_BY_LIST = {
    "sales_invoices": SALES_INVOICE,
    "purchase_invoices": PURCHASE_INVOICE,
    "sales_quick_entries": SALES_QUICK_INVOICE,
}


@dataclass(frozen=True)
class Plan:
    """A settlement due on a day: pay ``share`` of what is outstanding (``None``: all of it)."""

    kind: ArtefactKind
    position: int
    contact: int  # index into Business.contacts
    share: Decimal | None = None


class Settlements:
    """The plans of who pays what on which day, and the payments that carry them out."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._due: dict[int, list[Plan]] = defaultdict(list)

    def plan(self, day: date, plan: Plan) -> None:
        self._due[day.toordinal()].append(plan)

    def plan_receipt(self, kind: ArtefactKind, position: int, index: int, due: date) -> None:
        """Plan a customer's payment of a sales document as that customer pays (late, in part...)."""
        ctx = self.context
        contact = ctx.biz.contacts[index]
        if contact.never_pays:
            return
        day = due + timedelta(days=contact.days_late + ctx.rng.randrange(-2, 3))
        day = max(day, ctx.today + timedelta(days=1))
        if contact.partial_payer and ctx.rng.random() < 0.5:
            self.plan(day, Plan(kind, position, index, Decimal("0.5")))
            day += timedelta(days=ctx.rng.randrange(14, 45))
        self.plan(day, Plan(kind, position, index))

    def replan_after_delete(self, payment_position: int) -> None:
        """The documents a deleted payment had settled are open again: plan them in a week."""
        ctx = self.context
        row = ctx.biz["contact_payments"].get(payment_position)
        index = ctx.biz.contact_index[row["contact"]["id"]]
        for allocated in row["allocated_artefacts"]:
            resource = allocated["artefact"]["$path"].split("/")[1]
            position = ctx.biz[resource].position_of(allocated["artefact"]["id"])
            kind = _KIND_BY_LIST.get(resource, PURCHASE_QUICK_INVOICE)
            if position is not None:
                self.plan(ctx.today + timedelta(days=7), Plan(kind, position, index))

    def settle_due(self, day: date) -> None:
        """Pay what is planned for today: one payment per contact, covering all its plans."""
        by_contact: dict[int, list[Plan]] = {}
        for plan in self._due.pop(day.toordinal(), []):
            by_contact.setdefault(plan.contact, []).append(plan)
        for index, plans in by_contact.items():
            allocations = self._allocations(plans)
            if allocations:
                self._pay(day, index, allocations)

    def _allocations(self, plans: list[Plan]) -> list[Allocation]:
        """What each plan pays of its document's outstanding amount (nothing once it is gone)."""
        allocations = []
        for plan in plans:
            collection = self.context.biz[plan.kind.resource]
            if not collection.is_live(plan.position):
                continue
            owed = Decimal(collection.get(plan.position)["outstanding_amount"])
            amount = owed if plan.share is None else cents(owed * plan.share)
            if amount > 0:
                allocations.append(Allocation(plan.kind, plan.position, amount))
        return allocations

    def _pay(self, day: date, index: int, allocations: list[Allocation]) -> None:
        ctx = self.context
        contact = ctx.biz.contacts[index]
        on_account = ZERO
        if contact.kind == "CUSTOMER" and ctx.rng.random() < 0.01:
            on_account = cents(Decimal(ctx.rng.randrange(1000, 20000)) / 100)
        bank_role = (
            "bank_current"
            if ctx.rng.random() < 0.93
            else ("bank_cash" if contact.kind == "CUSTOMER" else "bank_card")
        )
        position = record_payment(
            ctx.biz,
            contact=contact,
            bank=ctx.biz.banks[bank_role],
            date=day.isoformat(),
            ts=ctx.next_ts(),
            allocations=allocations,
            on_account=on_account,
            exchange_rate=ctx.rate(contact, day),
        )
        if contact.currency == ctx.biz.currency:
            ctx.recent.payments.append(position)
