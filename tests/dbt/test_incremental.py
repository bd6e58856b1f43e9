"""Incremental marts equal a full rebuild, row for row, after each of several random change batches.

A sandbox is loaded by the real pipeline and its marts built (``dbt build``). Then, batch after batch
(seeded: the same batches on every run), the books change: days of business (new documents, payments,
edits, voids, deletes), a journal back-dated into a closed month, a journal moved to another month,
a journal deleted; in one batch an account is also renamed (a dimension: every month of its business
is rebuilt). After each batch the pipeline loads incrementally and runs plain ``dbt build``,
which rebuilds only what changed (dbt_models/README.md: Incremental builds). Its tables are copied
aside, ``dbt build --full-refresh`` rebuilds every model from scratch over the same load, and every
table of the marts (and the intermediate tables) must hold the same rows, compared with EXCEPT ALL in
the warehouse itself (exact decimals, duplicates counted). Each incremental build must also really be
incremental: it rebuilt some of the periods, not none and not all (the models' scratch tables say
which). On DuckDB, and on PostgreSQL when it is installed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from pipelines.destinations import dbt_target, postgres_profile_env
from pipelines.marts import MartsReport, MartsRequest, build_marts
from pipelines.runner import RunReport, duckdb_file, run
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.load_warehouse import NOW
from testkit.pipeline_env import Connected, connect, patched_env
from testkit.postgres_server import LOADER, LOADER_PASSWORD, available, postgres_server

pytestmark = pytest.mark.timeout(900)

INVOICES = 80  # per business: a year and more of months, small enough to build seven times
BATCHES = 3
RENAME_IN_BATCH = 1  # the batch in which an account is renamed as well
SNAPSHOT = "incremental_result"  # where an incremental build's tables are copied before the full rebuild

# What each incremental model rebuilt (its scratch table, macros/incremental_periods.sql) against what it
# holds: (scratch table, the model, the model's key named as the scratch table's columns). The cash split is
# rebuilt by transaction: the bank transactions rebuilt against all of them.
REBUILT = {
    "fct_general_ledger": (
        "incremental_state.fct_general_ledger__changed_periods",
        "marts.fct_general_ledger",
        ("business_id", "cast(date_trunc('month', entry_date) as date) as period"),
    ),
    "int_cash_entries_classified": (
        "incremental_state.int_cash_entries_classified__changed_transactions",
        "intermediate.int_cash_entries_classified",
        ("business_id", "transaction_id"),
    ),
    "fct_open_items": (
        "incremental_state.fct_open_items__changed_as_of_dates",
        "marts.fct_open_items",
        ("business_id", "as_of_date"),
    ),
}


@dataclass
class Warehouse:
    """One adapter's warehouse: how to query it and how the pipeline loads into it."""

    query: Callable[[str], list[tuple[Any, ...]]]
    execute: Callable[[str], None]
    env: dict[str, str]  # what the pipeline needs in the environment (Sage, the destination)
    destination: str


def _duckdb(connected: Connected) -> Warehouse:
    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(connected.database)) as con:
            return con.execute(sql).fetchall()

    def execute(sql: str) -> None:
        with duckdb.connect(str(connected.database)) as con:
            con.execute(sql)

    return Warehouse(query, execute, connected.env, "duckdb")


def _postgres(connected: Connected, settings: dict[str, str], credentials: str) -> Warehouse:
    def connection() -> Any:
        return psycopg2.connect(
            host="127.0.0.1", port=settings["SAGE_PG_PORT"], user="postgres", dbname="sage"
        )

    def query(sql: str) -> list[tuple[Any, ...]]:
        con = connection()
        try:
            with con.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            con.close()

    def execute(sql: str) -> None:
        con = connection()
        try:
            with con, con.cursor() as cursor:
                cursor.execute(sql)
        finally:
            con.close()

    env = {**connected.env, "DESTINATION__POSTGRES__CREDENTIALS": credentials}
    return Warehouse(query, execute, env, "postgres")


def load(connected: Connected, warehouse: Warehouse) -> RunReport:
    """An incremental load by the pipeline (a first one the first time)."""
    with patched_env(warehouse.env):
        return run(connected.request(destination=warehouse.destination))


def build(
    report: RunReport, connected: Connected, warehouse: Warehouse, *, full_refresh: bool
) -> MartsReport:
    """``dbt build`` of the seeds and models over the load ``report`` made, as the pipeline runs it
    (pipelines.runner._build_marts), incremental or ``--full-refresh``. The data tests are left to
    test_marts.py and test_postgres.py: they would triple this test's time."""
    pipeline = report.pipeline
    with patched_env(warehouse.env):
        target = dbt_target(pipeline)
        assert target is not None
        request = MartsRequest(
            work_dir=connected.home / ("full_rebuild" if full_refresh else "dbt"),
            duckdb_path=duckdb_file(pipeline) if target == "duckdb" else None,
            target=target,
            profile_env=postgres_profile_env(pipeline) if target == "postgres" else {},
            full_refresh=full_refresh,
            extra_args=("--resource-type", "model", "--resource-type", "seed"),
        )
        return build_marts(request)


def change_books(server: SandboxServer, rng: random.Random) -> None:
    """One batch: days of business, then in one business a journal back-dated into a closed month, a
    journal and a bank payment (other_payments: cash) each moved a month or more earlier and each
    deleted, and a journal's amounts doubled in place (the same entries, dates and count: only the
    amounts tell its month changed)."""
    sandbox = server.sandbox
    sandbox.advance(rng.randint(1, 4))
    business = rng.choice(sandbox.business_ids)
    sandbox.backdate_journal(business, days_ago=rng.randint(60, 300), amount=Decimal(rng.randint(100, 5000)))
    books = sandbox.ground_truth(business)
    for resource in ("journals", "other_payments"):
        moved, deleted, *edited = rng.sample(sorted(row["id"] for row in books[resource]), 3)
        sandbox.redate_document(business, resource, moved, days=-rng.randint(32, 120))
        sandbox.delete_document(business, resource, deleted)
        if resource == "journals":
            sandbox.double_journal(business, edited[0])


def rename_an_account(warehouse: Warehouse) -> str:
    """A dimension change: the account with the most entries of one business renamed in the loaded
    table, as a load that brought the new name leaves it (the sandbox never renames accounts). The
    general ledger carries the name on every entry, so every month of that business must be rebuilt;
    a build that ignored the dimensions' fingerprint would keep the old name in the months it did not
    rebuild, and differ from the full rebuild. Returns the business."""
    ((schema,),) = warehouse.query(
        "select table_schema from information_schema.tables "
        "where table_name = 'ledger_accounts' and table_schema not like '%staging%'"
    )
    ((business, account),) = warehouse.query(
        f"select business_id, ledger_account__id from {schema}.ledger_entries "
        "group by 1, 2 order by count(*) desc, 1, 2 limit 1"
    )
    warehouse.execute(
        f"update {schema}.ledger_accounts set name = name || ' (renamed)' "
        f"where business_id = '{business}' and id = '{account}'"
    )
    return str(business)


def rebuilt_months(warehouse: Warehouse, business: str) -> tuple[int, int]:
    """(months of ``business`` the last general-ledger build rebuilt, months it holds)."""
    ((rebuilt,),) = warehouse.query(
        "select count(*) from incremental_state.fct_general_ledger__changed_periods "
        f"where business_id = '{business}'"
    )
    ((held,),) = warehouse.query(
        "select count(distinct date_trunc('month', entry_date)) from marts.fct_general_ledger "
        f"where business_id = '{business}'"
    )
    return rebuilt, held


def tables(warehouse: Warehouse) -> list[str]:
    """Every table dbt built in the marts and intermediate schemas."""
    rows = warehouse.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('marts', 'intermediate') and table_type = 'BASE TABLE' "
        "and table_name <> 'reconciliation_failures' "
        "order by 1, 2"
    )
    return [f"{schema}.{name}" for schema, name in rows]


def snapshot(warehouse: Warehouse, names: list[str]) -> None:
    warehouse.execute(f"drop schema if exists {SNAPSHOT} cascade")
    warehouse.execute(f"create schema {SNAPSHOT}")
    for name in names:
        warehouse.execute(f"create table {SNAPSHOT}.{name.replace('.', '__')} as select * from {name}")


def differences(warehouse: Warehouse, name: str) -> tuple[int, int, list[tuple[Any, ...]]]:
    """Rows of the rebuilt table, and rows in one of the incremental and rebuilt tables but not the
    other (a few of them for the message)."""
    copy = f"{SNAPSHOT}.{name.replace('.', '__')}"
    only_incremental = f"select * from {copy} except all select * from {name}"
    only_full = f"select * from {name} except all select * from {copy}"
    differ = (
        f"(select 'incremental' as side, * from ({only_incremental}) as a) "
        f"union all (select 'full' as side, * from ({only_full}) as b)"
    )
    (rows,) = warehouse.query(f"select count(*) from {name}")[0]
    (count,) = warehouse.query(f"select count(*) from ({differ}) as d")[0]
    sample = warehouse.query(f"select * from ({differ}) as d limit 4") if count else []
    return rows, count, sample


def rebuilt_share(warehouse: Warehouse) -> dict[str, tuple[int, int]]:
    """Per incremental model: (keys of the model the last build rebuilt, keys the model holds)."""
    shares = {}
    for model, (scratch, table, key) in REBUILT.items():
        keys = f"select distinct {', '.join(key)} from {table}"
        columns = [column.split(" as ")[-1] for column in key]
        match = " and ".join(f"s.{c} = k.{c}" for c in columns)
        (held,) = warehouse.query(f"select count(*) from ({keys}) as k")[0]
        (rebuilt,) = warehouse.query(
            f"select count(*) from ({keys}) as k where exists (select 1 from {scratch} as s where {match})"
        )[0]
        shares[model] = (rebuilt, held)
    return shares


@pytest.fixture(params=["duckdb", "postgres"])
def adapter(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not available():
        pytest.skip("no PostgreSQL: run scripts/ensure_postgres.sh")
    return str(request.param)


@pytest.fixture
def books(adapter: str, tmp_path: Path) -> Iterator[tuple[SandboxServer, Connected, Warehouse]]:
    config = SandboxConfig(seed=11, invoices=INVOICES, now=NOW, frozen_clock=True)
    with SandboxServer(config) as server:
        connected = connect(server, tmp_path / adapter)
        if adapter == "duckdb":
            yield server, connected, _duckdb(connected)
        else:
            with postgres_server() as settings:
                port = settings["SAGE_PG_PORT"]
                credentials = f"postgresql://{LOADER}:{LOADER_PASSWORD}@127.0.0.1:{port}/sage"
                yield server, connected, _postgres(connected, settings, credentials)


def test_incremental_marts_equal_a_full_rebuild_after_each_change_batch(
    books: tuple[SandboxServer, Connected, Warehouse],
) -> None:
    server, connected, warehouse = books
    first = build(load(connected, warehouse), connected, warehouse, full_refresh=False)
    assert first.ok, first
    rng = random.Random(16)
    for batch in range(BATCHES):
        change_books(server, rng)
        report = load(connected, warehouse)
        renamed = rename_an_account(warehouse) if batch == RENAME_IN_BATCH else None
        incremental = build(report, connected, warehouse, full_refresh=False)
        assert incremental.ok, (batch, incremental)
        if renamed:
            rebuilt, held = rebuilt_months(warehouse, renamed)
            assert rebuilt == held > 0, f"renaming an account rebuilt {rebuilt} of {held} months"
        for model, (rebuilt, held) in rebuilt_share(warehouse).items():
            assert 0 < rebuilt < held, f"batch {batch}: {model} rebuilt {rebuilt} of {held}"
        names = tables(warehouse)
        assert {
            "marts.fct_general_ledger",
            "marts.fct_open_items",
            "intermediate.int_cash_entries_classified",
            "intermediate.int_artefact_allocation_lines",
            "marts.fct_cash_position_daily",
        } <= set(names)
        snapshot(warehouse, names)
        full = build(report, connected, warehouse, full_refresh=True)
        assert full.ok, full
        for name in names:
            rows, count, sample = differences(warehouse, name)
            assert rows > 0, f"batch {batch}: {name} is empty"
            assert count == 0, f"batch {batch}: {name} differs from a full rebuild in {count} rows: {sample}"
