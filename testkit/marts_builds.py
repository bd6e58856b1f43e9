"""Sandbox books loaded by the real pipeline and built by ``dbt build``, shared by the dbt and notebook tests.

A build takes about half a minute, so each seed is built once per session (the ``builds`` fixture in
``conftest.py``) and read by every test that needs it; tests that change the books work on a copy.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.marts import MartsReport, MartsRequest, build_marts
from testkit.load_warehouse import load

INVOICES = 300  # per business: two years of books, small enough for CI


@dataclass(frozen=True)
class Built:
    seed: int
    database: Path
    raw: Path  # the load before dbt touched it, for tests that break the books
    report: MartsReport

    def results(self) -> list[dict[str, object]]:
        assert self.report.target_dir is not None
        results: list[dict[str, object]] = json.loads(
            (self.report.target_dir / "run_results.json").read_text()
        )["results"]
        return results

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql).fetchall()


def build(database: Path, work: Path, *select: str) -> MartsReport:
    return build_marts(MartsRequest(work_dir=work, duckdb_path=str(database), select=select, unit_tests=True))


def load_and_build(home: Path, seed: int) -> Built:
    """Load the sandbox books of ``seed`` into ``home`` and build the marts on a copy of the load."""
    raw = load(home / "raw.duckdb", seed=seed, invoices=INVOICES)
    database = home / "warehouse.duckdb"
    shutil.copyfile(raw, database)
    return Built(seed, database, raw, build(database, home / "dbt"))
