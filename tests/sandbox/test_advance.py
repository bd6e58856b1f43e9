"""Time moves: ``POST /_sandbox/advance`` brings new documents, edits, payments, voids and
deletes; every change moves ``updated_at`` into the new window; the books still add up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sage_sandbox import SandboxServer
from sage_sandbox.books.audit import audit
from sage_sandbox.catalog import ENDPOINTS
from testkit.books_over_http import fetch_books
from testkit.sage_http import Api, login


@pytest.fixture
def moved(fresh_server: Callable[..., SandboxServer]) -> dict[str, Any]:
    """A server whose books were read, then advanced 40 days, then read again."""
    server = fresh_server(seed=21, invoices=300, history_days=300)
    api = Api(server.urls, login(server.urls)["access_token"])
    business = server.sandbox.business_ids[0]
    before = fetch_books(api, business)
    started = server.sandbox.clock.now_ts()
    response = httpx.post(f"{server.urls.admin}/advance", json={"days": 40})
    assert response.status_code == 200
    api = Api(server.urls, login(server.urls)["access_token"])  # the old token expired meanwhile
    after = fetch_books(api, business)
    return {
        "server": server,
        "api": api,
        "business": business,
        "before": before,
        "after": after,
        "summary": response.json(),
        "started": started,
    }


def _stamp(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_clock_and_the_summary_move_with_the_books(moved: dict[str, Any]) -> None:
    summary = moved["summary"]
    assert summary["to"] - summary["from"] == 40 * 86400
    assert summary["from"] == moved["started"]
    changes = summary["businesses"][moved["business"]]
    before, after = moved["before"], moved["after"]
    for name, count in changes["created"].items():
        deleted_new = 0 if name not in changes["deleted"] else None
        if deleted_new == 0:
            assert len(after[name]) - len(before[name]) == count, name
    assert changes["created"]["sales_invoices"] > 0 and changes["created"]["ledger_entries"] > 0
    assert changes["updated"].get("sales_invoices", 0) > 0
    assert sum(changes["deleted"].values()) > 0


def test_every_changed_row_has_a_new_updated_at(moved: dict[str, Any]) -> None:
    start = _stamp(moved["started"])
    before, after = moved["before"], moved["after"]
    for name in after:
        if name in ("bank_accounts", "financial_settings", "businesses"):
            continue  # computed balances move without updated_at (see test below)
        old = {row["id"]: row for row in before[name]}
        for row in after[name]:
            if old.get(row["id"]) != row:
                assert row.get("updated_at", start) > start, (
                    f"{name} {row['id']} changed without updated_at moving"
                )
            else:
                assert row.get("updated_at", "") <= start, (
                    f"{name} {row['id']} moved updated_at without changing"
                )


def test_an_incremental_read_returns_exactly_the_changes(moved: dict[str, Any]) -> None:
    api, business, start = moved["api"], moved["business"], moved["started"]
    since = _stamp(start + 1)  # inclusive filter; nothing before the window changed at start + 1
    for name in ("sales_invoices", "contact_payments", "transactions", "ledger_entries", "contacts"):
        old = {row["id"]: row for row in moved["before"][name]}
        changed = {row["id"] for row in moved["after"][name] if old.get(row["id"]) != row}
        params: dict[str, Any] = {"updated_or_created_since": since, "items_per_page": 200}
        assert {r["id"] for r in api.all_items(name, business, **params)} == changed, name


def test_voids_deletes_and_payments_show_up_as_sage_shows_them(moved: dict[str, Any]) -> None:
    api, business = moved["api"], moved["business"]
    before = {r["id"]: r for r in moved["before"]["sales_invoices"]}
    after = {r["id"]: r for r in moved["after"]["sales_invoices"]}
    voided = [
        r
        for i, r in after.items()
        if r["status"]["id"] == "VOID" and before.get(i, {}).get("status", {}).get("id") != "VOID"
    ]
    assert voided, "advancing 40 days voided something"
    transactions = {t["id"]: t for t in moved["after"]["transactions"]}
    for invoice in voided:
        assert invoice["void_reason"] and invoice["outstanding_amount"] == "0.0"
        assert transactions[invoice["transaction"]["id"]]["deleted"] is True
    paid = [
        r
        for i, r in after.items()
        if i in before and before[i]["status"]["id"] != r["status"]["id"] != "VOID"
    ]
    assert paid and all(r["payments_allocations"] != before[r["id"]]["payments_allocations"] for r in paid)
    gone = {name: ids for name, ids in _deleted(moved).items() if ids}
    assert gone, "advancing 40 days hard-deleted something"
    since = _stamp(moved["started"])
    for name, ids in gone.items():
        feed = {r["id"] for r in api.all_items(name, business, deleted_since=since, items_per_page=200)}
        assert feed >= ids
        born_and_gone = feed - ids  # created and deleted inside the window
        assert not born_and_gone & {r["id"] for r in moved["before"][name]}
        assert not feed & {r["id"] for r in moved["after"][name]}


def _deleted(moved: dict[str, Any]) -> dict[str, set[str]]:
    return {
        name: {r["id"] for r in moved["before"][name]} - {r["id"] for r in moved["after"][name]}
        for name in ENDPOINTS
    }


def test_bank_balances_move_without_touching_updated_at(moved: dict[str, Any]) -> None:
    before = {r["id"]: r for r in moved["before"]["bank_accounts"]}
    moved_balances = [
        r for r in moved["after"]["bank_accounts"] if r["balance"] != before[r["id"]]["balance"]
    ]
    assert moved_balances
    assert all(r["updated_at"] == before[r["id"]]["updated_at"] for r in moved_balances)


def test_several_changes_share_one_second(moved: dict[str, Any]) -> None:
    start = _stamp(moved["started"])
    seconds = Counter(r["updated_at"] for r in moved["after"]["transactions"] if r["updated_at"] > start)
    assert max(seconds.values()) >= 2


def test_the_books_still_add_up(moved: dict[str, Any]) -> None:
    assert audit(moved["after"]) == []


def test_advance_rejects_bad_input(fresh_server: Callable[..., SandboxServer]) -> None:
    server = fresh_server(invoices=10, history_days=30)
    for body in ({"days": "seven"}, {"days": -1}, {}, [1]):
        response = httpx.post(f"{server.urls.admin}/advance", json=body)
        assert response.status_code == 400 and "error" in response.json(), body
    response = httpx.post(f"{server.urls.admin}/advance", content=b"not json")
    assert response.status_code == 400


def test_posted_documents_edited_moved_or_deleted_keep_the_books_adding_up(
    fresh_server: Callable[..., SandboxServer],
) -> None:
    """The harness's edits of posted documents (tests/dbt/test_incremental.py) are edits Sage could
    make: a journal's amounts doubled in place keeps its entries' ids, dates and number; a journal
    moved a month takes its transaction and entries with it; a deleted one leaves the list; and
    transactions, account and bank balances still tie (the audit)."""
    server = fresh_server(seed=21, invoices=60, history_days=200)
    sandbox, business = server.sandbox, server.sandbox.business_ids[0]
    api = Api(server.urls, login(server.urls)["access_token"])
    before = fetch_books(api, business)
    doubled, moved, deleted = sorted(row["id"] for row in before["journals"])[:3]
    sandbox.double_journal(business, doubled)
    new_date = sandbox.redate_document(business, "journals", moved, days=-40)
    sandbox.delete_document(business, "journals", deleted)
    after = fetch_books(api, business)

    def entries(books: dict[str, list[dict[str, Any]]], journal_id: str) -> list[tuple[str, str, str, str]]:
        (journal,) = [row for row in books["journals"] if row["id"] == journal_id]
        transaction_id = journal["transaction"]["id"]
        rows = [row for row in books["ledger_entries"] if row["transaction"]["id"] == transaction_id]
        return sorted((row["id"], row["date"], row["debit"], row["credit"]) for row in rows)

    was, now = entries(before, doubled), entries(after, doubled)
    assert [(i, d) for i, d, *_ in now] == [(i, d) for i, d, *_ in was] and len(was) >= 2
    assert [(2 * Decimal(dr), 2 * Decimal(cr)) for *_, dr, cr in was] == [
        (Decimal(dr), Decimal(cr)) for *_, dr, cr in now
    ]
    assert {d for _, d, *_ in entries(after, moved)} == {new_date}
    assert deleted not in {row["id"] for row in after["journals"]}
    assert audit(after) == []
