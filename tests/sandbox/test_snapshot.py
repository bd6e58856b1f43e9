"""Snapshots: books built once and reloaded are the same books, and their filters still work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sage_sandbox import Sandbox, SandboxConfig, SandboxServer
from testkit.sage_http import Api, login
from testkit.sandboxes import NOW, fingerprint


def test_a_reloaded_snapshot_serves_the_same_books(tmp_path: Path) -> None:
    config = SandboxConfig(
        seed=9, invoices=60, history_days=120, now=NOW, frozen_clock=True, snapshot_dir=tmp_path
    )
    built = Sandbox(config)
    (snapshot,) = tmp_path.glob("*.pickle")
    loaded = Sandbox(config)
    assert list(tmp_path.glob("*.pickle")) == [snapshot], "the second start reused the first's snapshot"
    assert fingerprint(loaded) == fingerprint(built)
    with SandboxServer(sandbox=loaded) as server:
        api = Api(server.urls, login(server.urls)["access_token"])
        rows = api.all_items("sales_invoices", attributes="contact", items_per_page=200)
        contact = rows[0]["contact"]["id"]
        filtered = {r["id"] for r in api.all_items("sales_invoices", contact_id=contact, items_per_page=200)}
        assert filtered == {r["id"] for r in rows if r["contact"]["id"] == contact}
        account = api.ok("/ledger_accounts", items_per_page=1)["$items"][0]["id"]
        entries = api.all_items(
            "ledger_entries", ledger_account_id=account, attributes="ledger_account", items_per_page=200
        )
        assert entries and {e["ledger_account"]["id"] for e in entries} == {account}
    assert loaded.advance(5) == built.advance(5), "a reloaded world moves on exactly as the original"


def test_different_books_get_different_snapshots(tmp_path: Path) -> None:
    base = SandboxConfig(
        seed=9, invoices=20, history_days=30, now=NOW, frozen_clock=True, snapshot_dir=tmp_path
    )
    Sandbox(base)
    Sandbox(dataclasses.replace(base, seed=10))
    assert len(list(tmp_path.glob("*.pickle"))) == 2


def test_snapshots_need_a_fixed_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fixed start"):
        Sandbox(SandboxConfig(invoices=5, history_days=10, snapshot_dir=tmp_path))
