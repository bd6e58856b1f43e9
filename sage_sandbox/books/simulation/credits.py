"""Credit notes against recent open invoices, sales and purchases alike, allocated at once."""

from __future__ import annotations

from collections import deque
from datetime import date
from decimal import Decimal

from sage_sandbox.books.artefacts import ArtefactKind, ArtefactSpec, LineSpec, create_artefact
from sage_sandbox.books.business import ContactInfo, Row
from sage_sandbox.books.settlement import Allocation, allocate_credit_note
from sage_sandbox.books.simulation.context import Context


def credit_note(
    ctx: Context, kinds: tuple[ArtefactKind, ArtefactKind], recent: deque[int], label: str, day: date
) -> None:
    """Credit one unit of a line of a recent open invoice and allocate the note against it.

    ``kinds`` is (the invoice's kind, the credit note's kind).
    """
    invoice_kind, credit_kind = kinds
    invoice = _open_recent(ctx, invoice_kind, recent)
    if invoice is None:
        return
    position, row = invoice
    biz = ctx.biz
    contact = biz.contact(row["contact"]["id"])
    line = ctx.rng.choice(row["invoice_lines"])
    item_ref = line.get("product") or line.get("service")
    credited = LineSpec(
        f"{label}: {line['description']}",
        biz.ledger_role_of[line["ledger_account"]["id"]],
        Decimal(1),
        Decimal(line["unit_price"]),
        line["tax_rate"]["id"],
        biz.item_by_id.get(item_ref["id"]) if item_ref else None,
    )
    spec = ArtefactSpec(contact, day.isoformat(), row["date"], [credited], Decimal(row["exchange_rate"]))
    credit = create_artefact(biz, credit_kind, spec, ts=ctx.next_ts())
    _allocate(ctx, contact, (invoice_kind, position), (credit_kind, credit), day)


def _allocate(
    ctx: Context,
    contact: ContactInfo,
    invoice: tuple[ArtefactKind, int],
    credit: tuple[ArtefactKind, int],
    day: date,
) -> None:
    """Allocate as much of the credit note (kind, position) as the invoice still owes."""
    biz = ctx.biz
    if "contact_allocations" in biz.unavailable:
        return
    (invoice_kind, invoice_position), (credit_kind, credit_position) = invoice, credit
    owed = Decimal(biz[invoice_kind.resource].get(invoice_position)["outstanding_amount"])
    available = Decimal(biz[credit_kind.resource].get(credit_position)["outstanding_amount"])
    amount = min(owed, available)
    if amount <= 0:
        return
    allocate_credit_note(
        biz,
        contact=contact,
        invoice=Allocation(invoice_kind, invoice_position, amount),
        credit_note=Allocation(credit_kind, credit_position, amount),
        date=day.isoformat(),
        ts=ctx.next_ts(),
    )


def _open_recent(ctx: Context, kind: ArtefactKind, recent: deque[int]) -> tuple[int, Row] | None:
    """A recent artefact that is posted and still has something outstanding."""
    collection = ctx.biz[kind.resource]
    for _ in range(6):
        if not recent:
            return None
        position = recent[ctx.rng.randrange(len(recent))]
        if not collection.is_live(position):
            continue
        row = collection.get(position)
        if row["status"]["id"] in ("UNPAID", "PART_PAID"):
            return position, row
    return None
