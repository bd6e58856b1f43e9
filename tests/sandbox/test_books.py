"""Books that add up, read over HTTP: balanced transactions, bank balances equal to the ledger,
outstanding amounts and statuses that agree with allocations, subledgers equal to control
accounts, for several seeds; and the same seed always builds the same books."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest

from sage_sandbox import Sandbox, SandboxConfig, SandboxServer
from sage_sandbox.books.audit import audit
from testkit.books_over_http import fetch_books
from testkit.sage_http import Api, login
from testkit.sandboxes import NOW, fingerprint


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_books_add_up_for_several_seeds(fresh_server: Callable[..., SandboxServer], seed: int) -> None:
    server = fresh_server(seed=seed, invoices=120, history_days=300)
    api = Api(server.urls, login(server.urls)["access_token"])
    for business in server.sandbox.business_ids:
        books = fetch_books(api, business)
        assert audit(books) == []
        # The books exercise what the invariants are about, not a trivial subset of it.
        statuses = Counter(row["status"]["id"] for row in books["sales_invoices"])
        assert statuses["PAID"] and statuses["UNPAID"] and statuses["VOID"], statuses
        assert any(
            row["currency"]["id"] != books["financial_settings"][0]["base_currency"]["id"]
            for row in books["sales_invoices"]
        )
        assert any(row["payments_allocations"] for row in books["sales_invoices"])
        assert any(row["deleted"] for row in books["transactions"]), (
            "voids and deletes leave deleted transactions"
        )
        assert len(books["sales_invoices"]) >= 120 * 0.9


def test_the_audit_catches_broken_books(api: Api) -> None:
    """The invariant checker can fail: each kind of corruption is reported."""
    business = api.ok("/businesses")["$items"][0]["id"]
    books = fetch_books(api, business)
    assert audit(books) == []

    def broken(change: Callable[[dict], None]) -> list[str]:
        copied = copy.deepcopy(books)
        change(copied)
        return audit(copied)

    def bump_entry(b: dict) -> None:
        entry = next(e for e in b["ledger_entries"] if Decimal(e["debit"]) > 0)
        entry["debit"] = str(Decimal(entry["debit"]) + Decimal("0.01"))

    def bank(b: dict) -> None:
        b["bank_accounts"][0]["balance"] = "1.0"

    def outstanding(b: dict) -> None:
        invoice = next(i for i in b["sales_invoices"] if i["status"]["id"] == "UNPAID")
        invoice["outstanding_amount"] = str(Decimal(invoice["outstanding_amount"]) - 1)

    def status(b: dict) -> None:
        invoice = next(i for i in b["sales_invoices"] if i["status"]["id"] == "PAID")
        invoice["status"]["id"] = "UNPAID"

    assert any("debits" in p for p in broken(bump_entry))
    assert any("bank" in p for p in broken(bank))
    assert any("outstanding" in p for p in broken(outstanding))
    assert any("status" in p for p in broken(status))


def test_the_same_seed_builds_the_same_books_and_moves_them_the_same_way() -> None:
    config = SandboxConfig(seed=5, invoices=60, history_days=120, now=NOW, frozen_clock=True)
    first, second = Sandbox(config), Sandbox(config)
    assert first.business_ids == second.business_ids
    assert fingerprint(first) == fingerprint(second)
    assert first.advance(9) == second.advance(9)
    assert fingerprint(first) == fingerprint(second)
    other = Sandbox(SandboxConfig(seed=6, invoices=60, history_days=120, now=NOW, frozen_clock=True))
    assert fingerprint(other) != fingerprint(first)


def test_sizes_follow_the_parameters() -> None:
    sandbox = Sandbox(
        SandboxConfig(seed=2, businesses=3, invoices=45, history_days=90, now=NOW, frozen_clock=True)
    )
    assert len(sandbox.business_ids) == 3
    for business in sandbox.business_ids:
        assert (
            len(sandbox.ground_truth(business)["sales_invoices"]) + _voided_or_deleted(sandbox, business)
            >= 45
        )
        assert len(sandbox.business(business)["sales_invoices"]) >= 45


def _voided_or_deleted(sandbox: Sandbox, business: str) -> int:
    return len(sandbox.deletions(business).get("sales_invoices", []))
