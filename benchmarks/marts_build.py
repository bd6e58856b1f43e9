"""``dbt build`` of every mart on a large load: seconds, slowest models, and that everything passed.

    .venv/bin/python -m benchmarks.marts_build --invoices 1000000 --snapshot-dir .cache/sandbox

A sandbox with one business and N sales invoices (two years of books: payments, credit notes,
journals, bank transfers; ~16 ledger entries per invoice) is loaded in full, every resource, by
the real pipeline into a DuckDB file that is kept in ``--cache`` (the 1 M load takes a while; later
runs reuse it). Then ``dbt build`` (seeds, models, unit tests, data tests and reconciliations)
runs on a copy, as ``sage-pipeline run`` runs it, and again for models and seeds only
(``--resource-type model --resource-type seed``), so the cost of the tests is visible. Figures
depend on the machine (2 cores here); compare within one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.pipeline_throughput import sandbox_args
from pipelines.marts import MartsReport, MartsRequest, build_marts
from pipelines.runner import RunRequest, run
from sage_sandbox.server import SandboxProcess
from testkit.pipeline_env import PREFIX, patched_env, sage_env
from testkit.sage_http import login


def loaded_warehouse(invoices: int, snapshot_dir: Path | None, cache: Path) -> Path:
    """Every resource of a one-business sandbox with ``invoices`` invoices, loaded once and kept."""
    database = cache / f"marts-{invoices}.duckdb"
    if database.is_file():
        return database
    cache.mkdir(parents=True, exist_ok=True)
    with (
        SandboxProcess(*sandbox_args(invoices, 1, snapshot_dir)) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        home = Path(tmp)
        env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
        # A fixture for dbt: each list read whole in one package, as its time was measured (a first
        # load in windows, sage_source.backfill, is what a real first load of these books does).
        env[f"{PREFIX}BACKFILL_WINDOW_ROWS"] = "0"
        started = time.perf_counter()
        with patched_env(env):
            run(
                RunRequest(
                    pipeline_name="bench_marts",
                    duckdb_path=str(home / "warehouse.duckdb"),
                    pipelines_dir=str(home / "pipelines"),
                    progress=False,
                )
            )
        print(f"loaded {invoices:,} invoices' books in {time.perf_counter() - started:.0f}s", flush=True)
        shutil.copyfile(home / "warehouse.duckdb", database)
    return database


def timed_build(database: Path, work: Path, *extra: str) -> tuple[MartsReport, list[dict[str, Any]]]:
    """``dbt build`` (with ``extra`` arguments) on a fresh copy of the load, in its own folder."""
    work.mkdir(parents=True)
    copy = work / "warehouse.duckdb"
    shutil.copyfile(database, copy)
    report = build_marts(MartsRequest(work_dir=work, duckdb_path=str(copy), extra_args=extra))
    assert report.target_dir is not None
    document = json.loads((report.target_dir / "run_results.json").read_text())
    results: list[dict[str, Any]] = document["results"]
    return report, results


def slowest(results: list[dict[str, Any]], n: int = 8) -> list[tuple[str, float]]:
    timed = [(str(r["unique_id"]).split(".")[-1], float(r["execution_time"])) for r in results]
    return [(name, round(seconds, 2)) for name, seconds in sorted(timed, key=lambda t: -t[1])[:n]]


def sizes(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        counted = {
            table: con.execute(f"select count(*) from sage.{table}").fetchone()
            for table in ("sales_invoices", "ledger_entries", "transactions", "contact_payments")
        }
    return {table: row[0] for table, row in counted.items() if row}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--snapshot-dir", type=Path, help="reuse sandbox books built by an earlier run")
    parser.add_argument(
        "--cache", type=Path, default=Path(".cache"), help="where the loaded DuckDB file is kept"
    )
    args = parser.parse_args()
    database = loaded_warehouse(args.invoices, args.snapshot_dir, args.cache)
    figures: dict[str, Any] = {"invoices": args.invoices, "rows": sizes(database)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report, results = timed_build(database, work / "build")
        figures["dbt_build"] = {"ok": report.ok, "seconds": round(report.seconds, 1), **report.statuses}
        figures["failures"] = report.failures
        figures["slowest_build_nodes"] = slowest(results)
        only = ("--resource-type", "model", "--resource-type", "seed")
        models, model_results = timed_build(database, work / "models", *only)
        figures["models_only"] = {"ok": models.ok, "seconds": round(models.seconds, 1), **models.statuses}
        figures["slowest_models"] = slowest(model_results)
    # The largest child so far: dbt (the sandbox too, when this run also loaded the books).
    figures["peak_child_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
