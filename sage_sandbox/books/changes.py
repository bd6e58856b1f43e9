"""Changes to existing documents: edits, voids and hard deletes, each with its ledger effect.

Voiding a sales artefact keeps it listed (status ``VOID``, ``void_reason`` set, nothing
outstanding) and marks its transaction and ledger entries ``deleted: true``. Deleting any other
document removes it from list results (it appears in ``deleted_since`` feeds) and marks its
ledger deleted the same way. Every change moves the row's ``updated_at``.
"""

from __future__ import annotations

from decimal import Decimal

from sage_sandbox.books.artefacts import ArtefactKind, status_ref
from sage_sandbox.books.business import Business, Row, iso
from sage_sandbox.books.posting import transaction_position, unpost
from sage_sandbox.money import sage_decimal


class ChangeRefusedError(ValueError):
    """The document is in a state where Sage would refuse the change (e.g. voiding a paid invoice)."""


def is_untouched(row: Row) -> bool:
    """Posted, not voided, and nothing allocated against it yet."""
    return row["status"]["id"] == "UNPAID" and not row.get("payments_allocations")


def void_artefact(biz: Business, kind: ArtefactKind, position: int, reason: str, ts: int) -> None:
    collection = biz[kind.resource]
    row = collection.get(position)
    if not is_untouched(row):
        raise ChangeRefusedError(
            f"{row['displayed_as']} is {row['status']['id']} with allocations; remove them first"
        )
    unpost(biz, row["transaction"], ts)
    row["status"] = status_ref("VOID")
    row["void_reason"] = reason
    row["outstanding_amount"] = "0.0"
    row["base_currency_outstanding_amount"] = "0.0"
    row["editable"] = False
    row["updated_at"] = iso(ts)
    collection.put(position, row)


def delete_posted(biz: Business, resource: str, position: int, ts: int) -> None:
    """Hard-delete a posted document that nothing else refers to (its ledger is marked deleted)."""
    collection = biz[resource]
    row = collection.get(position)
    if row.get("payments_allocations"):
        raise ChangeRefusedError(f"{row['displayed_as']} has allocations; remove them first")
    if row.get("transaction"):
        unpost(biz, row["transaction"], ts)
    collection.delete(position, ts)


def edit(biz: Business, resource: str, position: int, ts: int, **fields: object) -> None:
    """Change descriptive fields of a row (no money moves); ``updated_at`` moves."""

    def change(row: Row) -> None:
        row.update(fields)
        row["updated_at"] = iso(ts)

    biz[resource].update(position, change)


def redate_posted(biz: Business, resource: str, position: int, date: str, ts: int) -> None:
    """Move a posted document to another date, as a user edits a journal's date: the document, its
    transaction and its ledger entries take the new date (no money moves); ``updated_at`` moves."""

    def move(row: Row) -> None:
        row["date"] = date
        row["updated_at"] = iso(ts)

    row = biz[resource].update(position, move)
    tx_position = transaction_position(biz, row["transaction"])
    biz["transactions"].update(tx_position, move)
    start = biz.entries_start[tx_position]
    for entry_position in range(start, start + biz.entries_count[tx_position]):
        biz["ledger_entries"].update(entry_position, move)


def double_journal(biz: Business, position: int, ts: int) -> None:
    """Double every amount of a posted journal in place, as a user corrects a journal's amounts: its
    lines, total, transaction and ledger entries change, while their ids, dates and number do not
    (so only the amounts tell an edited period from an untouched one); the balances follow."""
    stamp = iso(ts)

    def twice(row: Row, *fields: str) -> None:
        for name in fields:
            if row.get(name) is not None:
                row[name] = sage_decimal(Decimal(row[name]) * 2)
        if "updated_at" in row:  # a journal line has none of its own
            row["updated_at"] = stamp

    def journal(row: Row) -> None:
        twice(row, "total")
        for line in row.get("journal_lines") or []:
            twice(line, "debit", "credit")

    row = biz["journals"].update(position, journal)
    tx_position = transaction_position(biz, row["transaction"])
    biz["transactions"].update(tx_position, lambda transaction: twice(transaction, "total"))
    start = biz.entries_start[tx_position]
    for entry_position in range(start, start + biz.entries_count[tx_position]):
        entry = biz["ledger_entries"].update(entry_position, lambda entry: twice(entry, "debit", "credit"))
        half = (Decimal(entry["debit"]) - Decimal(entry["credit"])) / 2
        biz.post_balance(biz.ledger_role_of[entry["ledger_account"]["id"]], half)
