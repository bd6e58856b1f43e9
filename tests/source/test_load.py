"""The warehouse equals the books: after a first load, and after the books move on.

Each test builds its own sandbox (the books change) and loads it over real HTTP into a real
DuckDB file with the real pipeline; ``testkit.warehouse`` diffs every table of every business
against the sandbox's ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import httpx
import psutil
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from sage_sandbox import SandboxServer
from sage_source import sage_accounting
from sage_source.settings import ENDPOINTS, RESOURCE_NAMES
from testkit.pipeline_env import Connected, connect, patched_env
from testkit.warehouse import mismatches

Build = Callable[..., SandboxServer]


@pytest.fixture
def connected(fresh_server: Build, tmp_path: Path) -> Connected:
    return connect(fresh_server(invoices=120, history_days=300), tmp_path)


def api_requests(server: SandboxServer) -> dict[str, int]:
    """Requests the sandbox served under ``/v3.1`` since its counters were reset, by route."""
    counters = httpx.get(f"{server.urls.admin}/counters").json()
    return {route: sum(outcomes.values()) for route, outcomes in counters.items() if " /v3.1/" in route}


def reset_counters(server: SandboxServer) -> None:
    httpx.delete(f"{server.urls.admin}/counters")


def test_first_load_equals_the_books(connected: Connected) -> None:
    report = connected.run()
    assert report.rows["sales_invoices"] > 0
    # DuckDB loads within the runner's memory cap (its default would cache up to 80% of RAM).
    with report.pipeline.sql_client() as sql:
        limit = sql.execute_sql("SELECT current_setting('memory_limit')")
    assert limit is not None and limit[0][0] == "488.2 MiB"
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, connected.server.sandbox) == []
        tables = warehouse.tables()
        # Every resource has its table, named after Sage's resource, with business_id and id.
        for name in RESOURCE_NAMES:
            assert name in tables, name
            assert {"business_id", "id"} <= warehouse.types(name).keys(), name
        for endpoint in ENDPOINTS:
            for child in endpoint.children:
                assert f"{endpoint.name}__{child}" in tables or not _has_children(
                    connected, endpoint.name, child
                )


def _has_children(connected: Connected, resource: str, child: str) -> bool:
    sandbox = connected.server.sandbox
    return any(row.get(child) for b in sandbox.business_ids for row in sandbox.ground_truth(b)[resource])


def test_money_dates_and_times_are_typed(connected: Connected) -> None:
    connected.run(resources=["sales_invoices", "ledger_entries"])
    with connected.warehouse() as warehouse:
        invoices = warehouse.types("sales_invoices")
        lines = warehouse.types("sales_invoices__invoice_lines")
        entries = warehouse.types("ledger_entries")
    assert invoices["total_amount"] == "DECIMAL(38,9)"
    assert invoices["base_currency_outstanding_amount"] == "DECIMAL(38,9)"
    assert invoices["exchange_rate"] == "DECIMAL(38,9)"
    assert lines["unit_price"] == "DECIMAL(38,9)"
    assert entries["debit"] == entries["credit"] == "DECIMAL(38,9)"
    assert invoices["date"] == invoices["due_date"] == "DATE"
    assert invoices["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert lines["_dlt_list_idx"] == "BIGINT"


def test_incremental_run_after_the_books_move_on(connected: Connected) -> None:
    server = connected.server
    connected.run()
    sandbox = server.sandbox
    changes = [sandbox.advance(days) for days in (6, 9, 12)]  # new, edited, paid, voided, deleted
    deleted = sum(n for c in changes for b in c["businesses"].values() for n in b["deleted"].values())
    created = sum(n for c in changes for b in c["businesses"].values() for n in b["created"].values())
    assert deleted > 0 and created > 0, "the sandbox should have deleted and created rows"

    reset_counters(server)
    report = connected.run()
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, sandbox) == []
        # Rows Sage deleted stay, marked, with Sage's deletion time.
        for business_id in sandbox.business_ids:
            for resource, gone in sandbox.deletions(business_id).items():
                loaded = {
                    row["id"]: row
                    for row in warehouse.rows(
                        resource,
                        "business_id = ? AND id IN (SELECT unnest(?))",
                        [business_id, [g["id"] for g in gone]],
                    )
                }
                for tombstone in gone:
                    row = loaded.get(tombstone["id"])
                    if row is None:
                        continue  # created and deleted between two runs: never loaded
                    assert row["is_deleted"], (resource, tombstone["id"])
                    assert row["deleted_at"].timestamp() == tombstone["deleted_at"], (
                        resource,
                        tombstone["id"],
                    )
    # Requests follow the changes: per business x resource one page per 200 changed rows plus the
    # delete feed, not the whole history again.
    requests = sum(api_requests(server).values())
    pairs = len(sandbox.business_ids) * (len(RESOURCE_NAMES) - 1) + 1  # businesses is one list for all
    changed_pages = sum(math.ceil(n / 200) for n in report.rows.values())
    assert requests <= 2 * pairs + changed_pages, requests


def test_a_run_with_no_changes_reads_almost_nothing(connected: Connected) -> None:
    server = connected.server
    connected.run()
    reset_counters(server)
    connected.run()
    requests = api_requests(server)
    businesses = len(server.sandbox.business_ids)
    # <= 2 requests per business x resource: changes since the watermark, and the delete feed.
    for endpoint in ENDPOINTS:
        route = f"GET /v3.1/{endpoint.name}"
        assert requests.get(route, 0) <= 2 * businesses, (route, requests.get(route))
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox) == []


def test_rows_read_twice_are_merged_not_duplicated(connected: Connected) -> None:
    connected.run(resources=["sales_invoices", "contacts"])
    connected.run(resources=["sales_invoices", "contacts"], full_refresh=True)  # everything again
    with connected.warehouse() as warehouse:
        for table in ("sales_invoices", "sales_invoices__invoice_lines", "contacts"):
            keys = "business_id, parent_id, _dlt_list_idx" if "__" in table else "business_id, id"
            duplicated = warehouse.db.execute(
                f"SELECT count(*) FROM (SELECT {keys} FROM sage.{table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()
            assert duplicated == (0,), table
        assert mismatches(warehouse, connected.server.sandbox, resources=["sales_invoices", "contacts"]) == []


def test_one_business_and_some_resources(connected: Connected) -> None:
    sandbox = connected.server.sandbox
    chosen = sandbox.business_ids[1]
    connected.run(business_ids=[chosen], resources=["contacts", "sales_invoices"])
    with connected.warehouse() as warehouse:
        assert warehouse.tables() >= {"contacts", "sales_invoices", "sales_invoices__invoice_lines"}
        assert "purchase_invoices" not in warehouse.tables()
        assert {r["business_id"] for r in warehouse.rows("sales_invoices")} == {chosen}
        assert mismatches(warehouse, sandbox, [chosen], ["contacts", "sales_invoices"]) == []


def test_a_swept_row_that_vanished_is_marked_deleted(connected: Connected) -> None:
    """Ledger accounts have no delete feed: an id sweep finds the ones that are gone."""
    sandbox = connected.server.sandbox
    connected.run(resources=["ledger_accounts", "ledger_entries"])
    business_id = sandbox.business_ids[0]
    truth = sandbox.ground_truth(business_id)
    used = {e["ledger_account"]["id"] for e in truth["ledger_entries"]}
    unused = next(a["id"] for a in truth["ledger_accounts"] if a["id"] not in used)
    sandbox.delete_unused(business_id, "ledger_accounts", unused)
    sandbox.move_clock(3600)

    connected.run(resources=["ledger_accounts"], source_options={"id_sweep_days": 0})
    with connected.warehouse() as warehouse:
        row = warehouse.rows("ledger_accounts", "business_id = ? AND id = ?", [business_id, unused])[0]
        assert row["is_deleted"] and row["deleted_at"] is not None
        assert warehouse.count("ledger_accounts", "is_deleted") == 1
        assert mismatches(warehouse, sandbox, resources=["ledger_accounts"]) == []


def test_hard_delete_removes_rows_and_their_children(connected: Connected) -> None:
    sandbox = connected.server.sandbox
    connected.run()
    for days in (6, 9, 12):  # under the refresh token's 31 days
        sandbox.advance(days)
    gone = [
        (resource, business_id, row["id"])
        for business_id in sandbox.business_ids
        for resource, rows in sandbox.deletions(business_id).items()
        for row in rows
    ]
    with connected.warehouse() as warehouse:
        loaded = [g for g in gone if warehouse.count(g[0], "business_id = ? AND id = ?", [g[1], g[2]])]
    assert loaded, "some rows loaded by the first run should have been deleted since"

    with patched_env({"SOURCES__SAGE_ACCOUNTING__HARD_DELETE": "true"}):
        connected.run()
    with connected.warehouse() as warehouse:
        for resource, business_id, row_id in loaded:
            assert warehouse.count(resource, "business_id = ? AND id = ?", [business_id, row_id]) == 0
            for table in warehouse.tables():
                if table.startswith(f"{resource}__"):
                    where = "business_id = ? AND parent_id = ?"
                    assert warehouse.count(table, where, [business_id, row_id]) == 0, table
        assert mismatches(warehouse, sandbox, hard_delete=True) == []


def sockets_to(server: SandboxServer) -> list[Any]:
    """This process's open TCP connections to the sandbox (the sandbox's own ends excluded)."""
    port = httpx.URL(server.urls.api).port
    return [c for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port]


@pytest.mark.parametrize("fails", [False, True], ids=["loaded", "extraction failed"])
def test_a_source_run_by_hand_closes_its_sockets(connected: Connected, tmp_path: Path, fails: bool) -> None:
    """``pipeline.run(sage_accounting())`` as a user writes it: once the run is over (or has
    failed), no connection to Sage is left open, with or without a resource that never ran."""
    pipeline = dlt.pipeline(
        "by_hand",
        destination=dlt.destinations.duckdb(str(tmp_path / "by_hand.duckdb")),
        pipelines_dir=str(tmp_path / "pipelines"),
        dataset_name="sage",
    )
    with patched_env(connected.env):
        source = sage_accounting(resources=["businesses", "contacts", "sales_invoices", "tax_rates"])
        assert sockets_to(connected.server) == []  # the business list's sockets are closed once read
        source = source.with_resources("businesses", "contacts", "sales_invoices")  # tax_rates never runs
        if fails:

            def boom(item: Any) -> Any:
                raise RuntimeError("a step after the source failed")

            source.resources["sales_invoices"].add_map(boom)
            with pytest.raises(PipelineStepFailed):
                pipeline.run(source)
        else:
            pipeline.run(source)
    assert sockets_to(connected.server) == []
