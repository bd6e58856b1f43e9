"""The dbt-postgres profile: the marts build on PostgreSQL with every test and reconciliation
passing (the same SQL as on DuckDB).

The dataset is a real load (seed 7, into DuckDB by the pipeline) copied table by table into a
throwaway PostgreSQL server, because dlt's postgres loader cannot yet take the source's nested
JSON columns (README, known limits). Then ``dbt build --target postgres`` runs as the pipeline
runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg2
import pytest

from pipelines.marts import MartsRequest, build_marts
from testkit.load_warehouse import load
from testkit.pipeline_env import patched_env
from testkit.postgres_server import available, postgres_server

pytestmark = pytest.mark.skipif(not available(), reason="no PostgreSQL: run scripts/ensure_postgres.sh")

POSTGRES_TYPES = {"VARCHAR": "text", "JSON": "jsonb", "TIMESTAMP WITH TIME ZONE": "timestamptz"}


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    with postgres_server() as settings:
        yield settings


def copy_dataset(database: Path, settings: dict[str, str], folder: Path) -> int:
    """Every table of the ``sage`` dataset, same names and types, into PostgreSQL; the row count."""
    rows = 0
    target = psycopg2.connect(
        host=settings["SAGE_PG_HOST"], port=settings["SAGE_PG_PORT"], user="postgres", dbname="sage"
    )
    with duckdb.connect(str(database), read_only=True) as source, target, target.cursor() as cursor:
        cursor.execute("create schema sage")
        tables = source.execute(
            "select table_name from information_schema.tables where table_schema = 'sage' order by 1"
        ).fetchall()
        for (table,) in tables:
            columns = source.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'sage' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            ddl = ", ".join(f'"{name}" {POSTGRES_TYPES.get(kind, kind)}' for name, kind in columns)
            cursor.execute(f'create table sage."{table}" ({ddl})')
            csv = folder / f"{table}.csv"
            source.execute(f"copy sage.\"{table}\" to '{csv}' (format csv, header false)")
            with csv.open("rb") as data:
                cursor.copy_expert(f'copy sage."{table}" from stdin with (format csv)', data)
            rows += cursor.rowcount
    target.close()
    return rows


@pytest.mark.timeout(1200)  # ~500 dbt nodes, each a round trip to PostgreSQL
def test_dbt_build_on_postgres_passes_every_test_and_reconciliation(
    postgres: dict[str, str], tmp_path: Path
) -> None:
    database = load(tmp_path / "seed7.duckdb", seed=7, invoices=150)
    assert copy_dataset(database, postgres, tmp_path) > 1000
    with patched_env(postgres):
        report = build_marts(MartsRequest(work_dir=tmp_path / "dbt", target="postgres"))
    assert report.ok, "\n".join(report.failures)
    assert report.statuses.get("pass", 0) >= 100
