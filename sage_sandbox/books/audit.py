"""Check that a business's books add up, reading only the rows the API serves.

This is the accountant's view, independent of how the sandbox built the books: a bug in the
simulation shows up here as a broken invariant, not as a silently wrong ground truth. It takes
plain rows (endpoint name -> rows), so tests run it on books fetched over HTTP. It relies only on
what the swagger defines, not on the sandbox's dialect: the debtors control account is the
control account sales invoices debit, whatever its ``control_name`` (which may be null), and a
list the business does not offer (absent from ``books``) has no rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sage_sandbox.books.artefacts import settlement_status
from sage_sandbox.books.business import Row
from sage_sandbox.money import ZERO

Books = Mapping[str, Sequence[Row]]

AR_DOCUMENTS = {"sales_invoices": 1, "sales_credit_notes": -1}
AP_DOCUMENTS = {"purchase_invoices": 1, "purchase_credit_notes": -1}
QUICK_ENTRY_SIGN = {"INVOICE": 1, "CREDIT_NOTE": -1}


@dataclass(frozen=True)
class Subledger:
    """One side's open items and the control account they must equal."""

    label: str
    documents: dict[str, int]  # list -> sign of its outstanding amounts; invoices first
    quick_entries: str
    payment_type: str  # the contact payments whose amounts on account are open items too
    sign: int  # +1: the control account carries debits (debtors); -1: credits (creditors)


DEBTORS = Subledger("debtors control", AR_DOCUMENTS, "sales_quick_entries", "CUSTOMER_RECEIPT", 1)
CREDITORS = Subledger("creditors control", AP_DOCUMENTS, "purchase_quick_entries", "VENDOR_PAYMENT", -1)


def _d(value: str | None) -> Decimal:
    return Decimal(value) if value is not None else ZERO


def audit(books: Books) -> list[str]:
    """Every way the books fail to add up (an empty list means they balance).

    ``books`` maps endpoint names to their live rows as served with ``attributes=all`` and
    ``show_payments_allocations=true``.
    """
    problems: list[str] = []
    entries = books["ledger_entries"]
    problems += _transactions_balance(books["transactions"], entries)
    balances = _account_balances(entries)
    problems += _bank_balances(books["bank_accounts"], balances)
    for resource in (*AR_DOCUMENTS, *AP_DOCUMENTS):
        for row in books.get(resource, ()):
            problems += _artefact(resource, row)
    for resource in ("sales_quick_entries", "purchase_quick_entries"):
        for row in books.get(resource, ()):
            problems += _quick_entry(resource, row)
    problems += _control_account(books, balances, DEBTORS)
    problems += _control_account(books, balances, CREDITORS)
    return problems


def _transactions_balance(transactions: Sequence[Row], entries: Sequence[Row]) -> list[str]:
    problems = []
    by_tx: dict[str, list[Row]] = defaultdict(list)
    for entry in entries:
        by_tx[entry["transaction"]["id"]].append(entry)
    for tx in transactions:
        legs = by_tx.get(tx["id"], [])
        if any(leg["deleted"] != tx["deleted"] for leg in legs):
            problems.append(f"transaction {tx['reference']}: entries disagree with it about being deleted")
        debit = sum((_d(leg["debit"]) for leg in legs), ZERO)
        credit = sum((_d(leg["credit"]) for leg in legs), ZERO)
        if debit != credit:
            problems.append(f"transaction {tx['reference']}: debits {debit} != credits {credit}")
        if not legs:
            problems.append(f"transaction {tx['reference']}: no ledger entries")
        if _d(tx["total"]) != debit:
            problems.append(f"transaction {tx['reference']}: total {tx['total']} != debits {debit}")
    return problems


def _account_balances(entries: Sequence[Row]) -> dict[str, Decimal]:
    """Debit-minus-credit per ledger account id, over entries not deleted."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if not entry["deleted"]:
            balances[entry["ledger_account"]["id"]] += _d(entry["debit"]) - _d(entry["credit"])
    return balances


def _bank_balances(banks: Sequence[Row], balances: dict[str, Decimal]) -> list[str]:
    problems = []
    for bank in banks:
        expected = balances.get(bank["ledger_account"]["id"], ZERO)
        if _d(bank["balance"]) != expected:
            problems.append(f"bank {bank['displayed_as']}: balance {bank['balance']} != ledger {expected}")
    return problems


def _artefact(resource: str, row: Row) -> list[str]:
    name = f"{resource} {row['displayed_as']}"
    return _lines_add_up(name, row) + _settled_as_stated(name, row)


def _lines_add_up(name: str, row: Row) -> list[str]:
    """The lines' amounts (and their base-currency twins) add up to the header's."""
    problems = []
    lines_field = "invoice_lines" if "invoice_lines" in row else "credit_note_lines"
    lines = row[lines_field]
    for twin in ("net_amount", "tax_amount", "total_amount"):
        if sum((_d(line[twin]) for line in lines), ZERO) != _d(row[twin]):
            problems.append(f"{name}: lines' {twin} do not add up to the header")
        base = f"base_currency_{twin}"
        if sum((_d(line[base]) for line in lines), ZERO) != _d(row[base]):
            problems.append(f"{name}: lines' {base} do not add up to the header")
    if _d(row["net_amount"]) + _d(row["tax_amount"]) != _d(row["total_amount"]):
        problems.append(f"{name}: net + tax != total")
    return problems


def _settled_as_stated(name: str, row: Row) -> list[str]:
    """Outstanding, paid and status agree with the allocations, whatever state the artefact is in."""
    problems = []
    status = row["status"]["id"]
    total, owed = _d(row["total_amount"]), _d(row["outstanding_amount"])
    allocated = sum((_d(a["amount"]) + _d(a["discount"]) for a in row["payments_allocations"]), ZERO)
    if status == "VOID":
        if owed != 0 or (row["transaction"] is not None and not row.get("void_reason")):
            problems.append(f"{name}: void but owes {owed} or has no reason")
        return problems
    if status == "DRAFT":
        if row["transaction"] is not None or owed != total:
            problems.append(f"{name}: a draft must be unposted and wholly outstanding")
        return problems
    if owed != total - allocated:
        problems.append(f"{name}: outstanding {owed} != total {total} - allocations {allocated}")
    if _d(row["total_paid"]) != allocated:
        problems.append(f"{name}: total_paid {row['total_paid']} != allocations {allocated}")
    if status != settlement_status(owed, total):
        problems.append(f"{name}: status {status} but {owed} of {total} outstanding")
    if (owed == 0) != (_d(row["base_currency_outstanding_amount"]) == 0):
        problems.append(f"{name}: base outstanding disagrees with outstanding about being settled")
    if row["transaction"] is None:
        problems.append(f"{name}: posted but has no transaction")
    return problems


def _quick_entry(resource: str, row: Row) -> list[str]:
    name = f"{resource} {row['displayed_as']}"
    total, owed = _d(row["total_amount"]), _d(row["outstanding_amount"])
    allocated = sum((_d(a["amount"]) for a in row["payments_allocations"]), ZERO)
    problems = []
    if owed != total - allocated:
        problems.append(f"{name}: outstanding {owed} != total {total} - allocations {allocated}")
    if row["status"]["id"] != settlement_status(owed, total):
        problems.append(f"{name}: status {row['status']['id']} but {owed} of {total} outstanding")
    return problems


def _control_account(books: Books, balances: dict[str, Decimal], side: Subledger) -> list[str]:
    """The subledger (open items in base currency) equals the control account's balance."""
    open_items = _open_items(books, side)
    invoices = next(iter(side.documents))
    accounts = _control_accounts_posted(books, invoices, "debit" if side.sign == 1 else "credit")
    if len(accounts) != 1:
        if not accounts and open_items == 0:
            return []  # nothing invoiced, nothing open
        return [f"{side.label}: {invoices} post to {len(accounts)} control accounts, not one"]
    ledger = side.sign * balances.get(accounts.pop(), ZERO)
    if ledger != open_items:
        return [f"{side.label}: ledger {ledger} != open items {open_items}"]
    return []


def _open_items(books: Books, side: Subledger) -> Decimal:
    """Posted documents' base outstanding amounts, less payments on account not yet allocated."""
    open_items = ZERO
    for resource, doc_sign in side.documents.items():
        for row in books.get(resource, ()):
            if row["status"]["id"] not in ("DRAFT", "VOID"):
                open_items += doc_sign * _d(row["base_currency_outstanding_amount"])
    for row in books.get(side.quick_entries, ()):
        open_items += QUICK_ENTRY_SIGN[row["quick_entry_type"]["id"]] * _d(
            row["base_currency_outstanding_amount"]
        )
    for row in books["contact_payments"]:
        on_account = row["payment_on_account"]
        if row["transaction_type"]["id"] == side.payment_type and on_account:
            open_items -= _d(on_account["base_currency_outstanding_amount"])
    return open_items


def _control_accounts_posted(books: Books, invoices: str, side: str) -> set[str]:
    """The control accounts posted invoices put their totals on: sales invoices debit only the
    debtors control account among control accounts (tax is a credit), purchase invoices credit
    only the creditors one (tax is a debit). Found from the entries, not from names."""
    controls = {row["id"] for row in books["ledger_accounts"] if row["is_control_account"]}
    posted = {
        row["transaction"]["id"]
        for row in books.get(invoices, ())
        if row["transaction"] is not None and row["status"]["id"] not in ("DRAFT", "VOID")
    }
    return {
        entry["ledger_account"]["id"]
        for entry in books["ledger_entries"]
        if entry["transaction"]["id"] in posted
        and entry["ledger_account"]["id"] in controls
        and _d(entry[side]) > 0
    }
