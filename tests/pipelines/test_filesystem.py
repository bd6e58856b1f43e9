"""``--destination filesystem``: Delta tables equal to the books, read back with DuckDB.

One sandbox and one lake folder for the module: a first load, then (the books moved 30 days on:
new, edited, paid, voided, deleted) an incremental load, then a run with ``hard_delete``. Each
stage records how the files differ from the sandbox's ground truth right after its run, so the
tests read their stage whatever order they run in. The files are read the way the README says:
``deltalake`` opens each table, DuckDB queries the Arrow (``pipelines.lakehouse.lake_connection``),
and ``testkit.warehouse`` compares every table of every business, money as exact Decimals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from dlt.common.destination.utils import resolve_merge_strategy

from pipelines.lakehouse import lake_connection
from pipelines.runner import RunReport
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.cli_home import new_home
from testkit.fake_sage import FakeSage, Reply, Seen, fake_env, page, run_pipeline
from testkit.pipeline_env import Connected, cli, connect, patched_env
from testkit.sandboxes import SMALL
from testkit.warehouse import Warehouse, mismatches

BUCKET = "DESTINATION__FILESYSTEM__BUCKET_URL"
PIPELINE = "sage_lake"


@dataclass
class Lake:
    connected: Connected

    @property
    def folder(self) -> Path:
        return self.connected.home / "lake"

    def run(self, **changes: object) -> RunReport:
        with patched_env({BUCKET: str(self.folder)}):
            return self.connected.run(destination="filesystem", pipeline_name=PIPELINE, **changes)

    def warehouse(self) -> Warehouse:
        return _open(self.folder)


@dataclass(frozen=True)
class Stage:
    report: RunReport
    problems: list[str]
    deleted: dict[str, int]  # rows marked is_deleted, per table


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    config = SandboxConfig(**{**SMALL.__dict__, "invoices": 60, "history_days": 200})
    with SandboxServer(config) as server:
        yield Lake(connect(server, tmp_path_factory.mktemp("lake")))


def _stage(lake: Lake, hard_delete: bool = False, **changes: object) -> Stage:
    report = lake.run(**changes)
    with lake.warehouse() as warehouse:
        problems = mismatches(warehouse, lake.connected.server.sandbox, hard_delete=hard_delete)
        deleted = {
            table: warehouse.count(table, "is_deleted")
            for table in sorted(warehouse.tables())
            if "is_deleted" in warehouse.types(table)
        }
    return Stage(report, problems, deleted)


@pytest.fixture(scope="module")
def first(lake: Lake) -> Stage:
    return _stage(lake)


@pytest.fixture(scope="module")
def incremental(lake: Lake, first: Stage) -> Stage:
    changes = lake.connected.server.sandbox.advance(30)
    moved = dict.fromkeys(("created", "deleted"), 0)
    for business in changes["businesses"].values():
        for kind in moved:
            moved[kind] += sum(business[kind].values())
    assert moved["created"] > 0 and moved["deleted"] > 0, moved
    return _stage(lake)


@pytest.fixture(scope="module")
def hard(lake: Lake, incremental: Stage) -> Stage:
    with patched_env({"SOURCES__SAGE_ACCOUNTING__HARD_DELETE": "true"}):
        return _stage(lake, hard_delete=True)


def test_a_first_load_writes_delta_tables_equal_to_the_books(first: Stage, lake: Lake) -> None:
    assert first.problems == []
    assert first.report.destination == "filesystem" and first.report.marts is None
    assert (lake.folder / "sage" / "sales_invoices" / "_delta_log").is_dir()
    with lake.warehouse() as warehouse:
        invoices = warehouse.types("sales_invoices")
        assert invoices["total_amount"] == "DECIMAL(38,9)"  # money exact, as in DuckDB
        assert invoices["updated_at"] == "TIMESTAMP WITH TIME ZONE"
        assert invoices["date"] == "DATE"


def test_an_incremental_load_merges_marks_deletions_and_replaces_lists(
    incremental: Stage, lake: Lake
) -> None:
    assert incremental.problems == []
    assert sum(incremental.deleted.values()) > 0  # Sage's deletions are marked, rows kept
    sandbox = lake.connected.server.sandbox
    with lake.warehouse() as warehouse:
        for business_id in sandbox.business_ids:
            for resource, gone in sandbox.deletions(business_id).items():
                ids = [g["id"] for g in gone]
                kept = warehouse.rows(
                    resource, "business_id = ? AND id IN (SELECT unnest(?))", [business_id, ids]
                )
                assert all(row["is_deleted"] and row["deleted_at"] for row in kept), resource


def test_hard_delete_removes_the_deleted_rows_from_the_files(hard: Stage) -> None:
    assert hard.problems == []
    assert sum(hard.deleted.values()) == 0


def test_every_key_is_in_the_files_once(hard: Stage, lake: Lake) -> None:
    with lake.warehouse() as warehouse:
        for table in warehouse.tables():
            types = warehouse.types(table)
            if "business_id" not in types or table.startswith(("_dlt", "sage_")):
                continue
            key = "parent_id, _dlt_list_idx" if "parent_id" in types else "id"
            found = warehouse.db.execute(
                f'SELECT count(*) FROM (SELECT business_id, {key} FROM "sage"."{table}" '
                f"GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()
            assert found == (0,), table


def test_the_cli_loads_files_and_says_why_no_marts_were_built(
    lake: Lake, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = new_home(tmp_path_factory.mktemp("cli_lake"), lake.connected.server)
    folder = home.root / "lake"
    args = ("run", "--pipelines-dir", str(home.pipelines), "--resources", "businesses,sales_invoices")
    result = cli(*args, "--destination", "filesystem", env={**home.env, BUCKET: str(folder)}, cwd=home.root)
    assert result.returncode == 0, result.stderr
    assert "marts not built: dbt builds marts in a database, not in files" in result.stderr
    assert "into filesystem" in result.stdout
    assert (folder / "sage" / "sales_invoices" / "_delta_log").is_dir()


def _open(folder: Path) -> Warehouse:
    dataset = folder / "sage"
    tables = {p.name: DeltaTable(str(p)) for p in dataset.iterdir() if (p / "_delta_log").is_dir()}
    return Warehouse.over(lake_connection(tables, "sage"))


@pytest.mark.parametrize("destination", ["filesystem", "duckdb"])
def test_a_list_that_got_shorter_or_empty_loses_its_old_rows(tmp_path: Path, destination: str) -> None:
    """Delta merges by upsert, key by key: without ``replace_children`` the lines a contact no
    longer has would stay (its second type; every type of one whose list is now empty). DuckDB
    replaces them by its merge key; both end the same. (An emptied list of items with ids once
    failed the run on every destination: its marker row had no id.)"""
    customer, supplier = (
        {"id": "CUSTOMER", "displayed_as": "Customer"},
        {"id": "VENDOR", "displayed_as": "Supplier"},
    )
    books = {
        "c1": {"types": [customer, supplier], "at": "10:00"},
        "c2": {"types": [customer], "at": "10:00"},
    }

    def contacts(seen: Seen) -> Reply | None:
        if seen.path != "/v3.1/contacts":
            return None
        if "deleted_since" in seen.query or "attributes" not in seen.query:  # the delete feed
            return page([])
        rows: list[dict[str, Any]] = [
            {
                "id": key,
                "displayed_as": key,
                "contact_types": row["types"],
                "updated_at": f"2026-11-20T{row['at']}:00Z",
            }
            for key, row in books.items()
        ]
        return page(rows)

    folder = tmp_path / "lake"
    with FakeSage(contacts) as sage:
        env = {**fake_env(sage, tmp_path), BUCKET: str(folder)}
        run_pipeline(env, tmp_path, resources=["contacts"], destination=destination)
        books["c1"] = {"types": [supplier], "at": "11:00"}
        books["c2"] = {"types": [], "at": "11:00"}
        report = run_pipeline(env, tmp_path, resources=["contacts"], destination=destination)
    # The source names no merge strategy: each destination takes its first (DuckDB's is unchanged).
    tables, capabilities = report.pipeline.default_schema.tables, report.pipeline.destination.capabilities()
    merged = resolve_merge_strategy(tables, tables["contacts__contact_types"], capabilities)
    assert merged == {"filesystem": "upsert", "duckdb": "delete-insert"}[destination]
    with (
        _open(folder)
        if destination == "filesystem"
        else Warehouse(tmp_path / "warehouse.duckdb") as warehouse
    ):
        kinds = sorted(
            (r["parent_id"], r["_dlt_list_idx"], r["id"]) for r in warehouse.rows("contacts__contact_types")
        )
    assert kinds == [("c1", 0, "VENDOR")]
