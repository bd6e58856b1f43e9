"""Double entry: every posted document gets one transaction and ledger entries that balance.

A document hands :func:`post` its legs (ledger account role, debit, credit); the transaction row
and one ledger-entry row per leg are written, and the running balance of each account moves.
:func:`unpost` is what voiding or deleting a document does to its ledger: the transaction and its
entries stay listed with ``deleted: true`` (Sage keeps the audit trail), and balances move back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sage_sandbox.books.business import Business, Ref, Row, iso, make_ref
from sage_sandbox.books.reference import TRANSACTION_TYPES
from sage_sandbox.money import ZERO, sage_decimal


class UnbalancedPostingError(AssertionError):
    """A sandbox bug: a document produced legs whose debits and credits differ."""


@dataclass(frozen=True)
class Leg:
    role: str  # ledger account role in the business's chart
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    description: str = ""
    contact: Ref | None = None
    tax_rate: Ref | None = None

    @staticmethod
    def signed(role: str, amount: Decimal, **kw: Any) -> Leg:
        """A debit for a positive amount, a credit for a negative one."""
        if amount >= 0:
            return Leg(role, debit=amount, **kw)
        return Leg(role, credit=-amount, **kw)


@dataclass(frozen=True)
class Posting:
    """The transaction a document posts: its type, date, second and legs.

    ``contact`` goes on the transaction and on legs without their own; a foreign-currency
    document gives its ``total_in_transaction_currency`` (the legs are in base currency).
    """

    transaction_type: str
    date: str
    ts: int
    legs: list[Leg]
    contact: Ref | None = None
    total_in_transaction_currency: Decimal | None = None


def post(biz: Business, posting: Posting, *, reference: str, origin: Ref) -> Ref:
    """Write the transaction and its ledger entries; return the transaction's reference."""
    transaction_type, date, contact = posting.transaction_type, posting.date, posting.contact
    total_in_transaction_currency = posting.total_in_transaction_currency
    legs = [leg for leg in posting.legs if leg.debit or leg.credit]
    debits = sum((leg.debit for leg in legs), ZERO)
    credits = sum((leg.credit for leg in legs), ZERO)
    if debits != credits or not legs:
        raise UnbalancedPostingError(f"{transaction_type} {reference}: debits {debits} != credits {credits}")
    transactions = biz["transactions"]
    entries = biz["ledger_entries"]
    tx_position, tx_id = transactions.reserve()
    tx_ref = make_ref("transactions", tx_id, reference)
    type_ref = make_ref("transaction_types", transaction_type, TRANSACTION_TYPES[transaction_type])
    stamp = iso(posting.ts)
    transactions.put(
        tx_position,
        {
            "id": tx_id,
            "displayed_as": reference,
            "$path": f"/transactions/{tx_id}",
            "created_at": stamp,
            "updated_at": stamp,
            "date": date,
            "deleted": False,
            "reference": reference,
            "total": sage_decimal(debits),
            "total_in_transaction_currency": (
                None if total_in_transaction_currency is None else sage_decimal(total_in_transaction_currency)
            ),
            "contact": contact,
            "transaction_type": type_ref,
            "origin": {"id": origin["id"], "displayed_as": origin["displayed_as"], "$path": origin["$path"]},
            "audit_trail_id": str(tx_position + 1),
            "number_of_attachments": "0",
        },
    )
    first = len(entries)
    for leg in legs:
        position, entry_id = entries.reserve()
        entries.put(
            position,
            {
                "id": entry_id,
                "displayed_as": leg.description or reference,
                "$path": f"/ledger_entries/{entry_id}",
                "created_at": stamp,
                "updated_at": stamp,
                "date": date,
                "credit": sage_decimal(leg.credit),
                "debit": sage_decimal(leg.debit),
                "ledger_account": biz.ledger[leg.role],
                "transaction": tx_ref,
                "contact": leg.contact if leg.contact is not None else contact,
                "deleted": False,
                "tax_rate": leg.tax_rate,
                "description": leg.description or reference,
                "journal_code": None,
            },
            index={"transaction_type": transaction_type},
        )
        biz.post_balance(leg.role, leg.debit - leg.credit)
    biz.entries_start.append(first)
    biz.entries_count.append(len(legs))
    assert len(biz.entries_start) == len(transactions), "transactions and entry spans out of step"
    return tx_ref


def transaction_position(biz: Business, tx_ref: Ref) -> int:
    position = biz["transactions"].position_of(tx_ref["id"])
    if position is None:
        raise KeyError(f"no transaction {tx_ref['id']}")
    return position


def unpost(biz: Business, tx_ref: Ref, ts: int) -> None:
    """Mark a transaction and its entries deleted (they stay listed) and reverse their balances."""
    tx_position = transaction_position(biz, tx_ref)
    stamp = iso(ts)

    def mark(row: Row) -> None:
        row["deleted"] = True
        row["updated_at"] = stamp

    biz["transactions"].update(tx_position, mark)
    start = biz.entries_start[tx_position]
    entries = biz["ledger_entries"]
    for position in range(start, start + biz.entries_count[tx_position]):
        row = entries.update(position, mark)
        role = biz.ledger_role_of[row["ledger_account"]["id"]]
        biz.post_balance(role, Decimal(row["credit"]) - Decimal(row["debit"]))


@dataclass(frozen=True)
class Document:
    """A posted document being written: its place, id and reference, known before it is built."""

    resource: str
    position: int
    key: str
    reference: str

    @property
    def ref(self) -> Ref:
        return make_ref(self.resource, self.key, self.reference)


def new_document(biz: Business, resource: str, reference: str | None = None, series: str = "") -> Document:
    """Reserve a row; ``reference`` defaults to ``{series}-{n}`` numbered per business."""
    position, key = biz[resource].reserve()
    return Document(resource, position, key, reference or f"{series}-{biz.next_number(series)}")


def save_posted(
    biz: Business, document: Document, posting: Posting, *, fields: Row, links: bool = False
) -> None:
    """Post the document's legs, then store its row: Sage's common head, then ``fields``."""
    transaction = post(biz, posting, reference=document.reference, origin=document.ref)
    transaction_type = posting.transaction_type
    stamp = iso(posting.ts)
    row: Row = {
        "id": document.key,
        "displayed_as": document.reference,
        "$path": f"/{document.resource}/{document.key}",
        "created_at": stamp,
        "updated_at": stamp,
    }
    if links:
        row["links"] = []
    row["transaction"] = transaction
    row["transaction_type"] = make_ref(
        "transaction_types", transaction_type, TRANSACTION_TYPES[transaction_type]
    )
    row["deleted_at"] = None
    row.update(fields)
    biz[document.resource].put(document.position, row)
