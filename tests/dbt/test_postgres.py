"""The pipeline loads PostgreSQL itself and builds the marts there: ``dbt build`` passes (every model,
contract, unit test, data test and reconciliation) after a first load and after an incremental one,
and the key marts hold the same figures as on DuckDB from the same books.

One sandbox (seed 7) feeds a throwaway PostgreSQL server: a first load, then 30 days of business,
then an incremental load, each followed by ``dbt build``. Then a DuckDB file loads the same books as
they are by then, in one first load, and builds its marts from scratch: the marts PostgreSQL built
incrementally must hold the same figures. Everything is built once for the module (a load plus
``dbt build`` takes about half a minute on PostgreSQL) and the tests read it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from pipelines.marts import MartsReport
from pipelines.runner import RunReport, run
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.load_warehouse import NOW
from testkit.pipeline_env import Connected, connect, patched_env
from testkit.postgres_server import LOADER, LOADER_PASSWORD, available, postgres_server

pytestmark = [
    pytest.mark.skipif(not available(), reason="no PostgreSQL: run scripts/ensure_postgres.sh"),
    pytest.mark.timeout(900),  # the first test waits for the module's loads and builds (~100 s alone)
]

INVOICES = 150
DAYS_LATER = 30

# Key marts compared row for row, each ordered by its key (money is numeric on both: Decimal).
MARTS = {
    "fct_account_balances_monthly": "business_id, ledger_account_id, month_end",  # the trial balance
    "rpt_headline_figures": "business_id",
    "rpt_ar_aging": "business_id, as_of_date, contact_id",
    "fct_receivables_kpis_monthly": "business_id, month_end",
    "fct_cash_forecast_13w": "business_id, snapshot_date, week_number",
    "fct_cash_forecast_lines": "business_id, snapshot_date, week_number, source, line",
    "fct_cash_forecast_backtest": "business_id, origin_date, week_number",  # the forecast at month-ends
}


@dataclass(frozen=True)
class Runs:
    postgres: dict[str, str]  # the SAGE_PG_* settings of the server loaded
    first: RunReport  # into PostgreSQL, a first load
    incremental: RunReport  # into PostgreSQL, 30 days later
    duckdb: Path  # the same books, 30 days on, loaded into DuckDB at once and built there
    home: Path  # the PostgreSQL pipeline's folder: dlt's state and traces, dbt's target/ and logs/


def into_postgres_run(connected: Connected, credentials: str) -> RunReport:
    """One run into PostgreSQL with ``dbt build``, as ``sage-pipeline run --destination postgres``."""
    with patched_env({**connected.env, "DESTINATION__POSTGRES__CREDENTIALS": credentials}):
        return run(connected.request(destination="postgres", build_marts=True, dbt_unit_tests=True))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    config = SandboxConfig(seed=7, invoices=INVOICES, now=NOW, frozen_clock=True)
    home = tmp_path_factory.mktemp("postgres_end_to_end")
    with postgres_server() as settings, SandboxServer(config) as server:
        credentials = f"postgresql://{LOADER}:{LOADER_PASSWORD}@127.0.0.1:{settings['SAGE_PG_PORT']}/sage"
        into_postgres, into_duckdb = connect(server, home / "postgres"), connect(server, home / "duckdb")
        first = into_postgres_run(into_postgres, credentials)
        server.sandbox.advance(DAYS_LATER)
        incremental = into_postgres_run(into_postgres, credentials)
        # DuckDB loads the books once, as they are now, and builds from scratch: what PostgreSQL
        # built over a first and an incremental load must be the same figures.
        duck = into_duckdb.run(build_marts=True)
        assert duck.marts is not None and duck.marts.ok, duck.marts
        yield Runs(settings, first, incremental, into_duckdb.database, into_postgres.home)


def on_postgres(runs: Runs, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and the rows of ``sql`` on the PostgreSQL the pipeline loaded."""
    con = psycopg2.connect(
        host="127.0.0.1", port=runs.postgres["SAGE_PG_PORT"], user="postgres", dbname="sage"
    )
    try:
        with con.cursor() as cursor:
            cursor.execute(sql)
            assert cursor.description is not None
            return [column.name for column in cursor.description], cursor.fetchall()
    finally:
        con.close()


def on_duckdb(runs: Runs, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(runs.duckdb), read_only=True) as duck:
        return duck.execute(sql).fetchall()


def every_test_passed(marts: MartsReport | None) -> None:
    """The build is ok and each data and unit test of the project (dbt's manifest) passed."""
    assert marts is not None and marts.ok, marts and "\n".join(marts.failures)
    assert marts.target_dir is not None
    manifest = json.loads((marts.target_dir / "manifest.json").read_text())
    tests = sum(node["resource_type"] == "test" for node in manifest["nodes"].values())
    tests += len(manifest["unit_tests"])
    assert tests >= 300 and marts.statuses.get("pass", 0) == tests, (tests, marts.statuses)
    assert marts.statuses.get("success", 0) >= 90, marts.statuses


def test_a_first_load_builds_every_model_and_passes_every_test(runs: Runs) -> None:
    every_test_passed(runs.first.marts)


def test_an_incremental_load_30_days_later_builds_and_passes_again(runs: Runs) -> None:
    every_test_passed(runs.incremental.marts)
    assert 0 < runs.incremental.total_rows < runs.first.total_rows  # it read what changed, not everything


def test_the_password_is_in_no_file_the_runs_and_dbt_wrote(runs: Runs) -> None:
    """dbt got it as ``DBT_ENV_SECRET_SAGE_PG_PASSWORD``, which it scrubs from its logs and results."""
    written = [path for path in runs.home.rglob("*") if path.is_file()]
    assert any(path.name == "dbt.log" for path in written)
    assert [path for path in written if LOADER_PASSWORD.encode() in path.read_bytes()] == []


def test_every_declared_column_is_read_under_the_name_postgres_gave_it(runs: Runs) -> None:
    """The source columns dbt knows (``_sage__sources.yml``), each under its ``loaded_as.postgres`` name
    where it has one (dlt shortened it to 63 characters), are the columns the pipeline created."""
    assert runs.incremental.marts is not None and runs.incremental.marts.target_dir is not None
    manifest = json.loads((runs.incremental.marts.target_dir / "manifest.json").read_text())
    columns = [
        (source["name"], column["name"], column["meta"].get("loaded_as", {}))
        for source in manifest["sources"].values()
        for column in source["columns"].values()
    ]
    expected = {(table, loaded_as.get("postgres", name)) for table, name, loaded_as in columns}
    assert sum("postgres" in loaded_as for _, _, loaded_as in columns) >= 4  # the long tax breakdown
    _, rows = on_postgres(
        runs,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'sage' and column_name <> '_dlt_load_id'",
    )
    assert {row for row in rows if row[0] in {table for table, _, _ in columns}} == expected


@pytest.mark.parametrize("mart", sorted(MARTS))
def test_key_marts_equal_duckdbs_value_for_value(runs: Runs, mart: str) -> None:
    sql = f"select * from marts.{mart} order by {MARTS[mart]}"
    names, postgres_rows = on_postgres(runs, sql)
    duckdb_rows = on_duckdb(runs, sql)
    assert len(postgres_rows) == len(duckdb_rows) > 0
    for pg_row, duck_row in zip(postgres_rows, duckdb_rows, strict=True):
        assert dict(zip(names, pg_row, strict=True)) == dict(zip(names, duck_row, strict=True))
