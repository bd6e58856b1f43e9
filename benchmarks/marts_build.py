"""``dbt build`` of every mart on a large load: a full build, then an incremental one after a day.

    .venv/bin/python -m benchmarks.marts_build --invoices 1000000 --snapshot-dir .cache/sandbox

A sandbox with one business and N sales invoices (two years of books: payments, credit notes,
journals, bank transfers; ~16 ledger entries per invoice) is loaded in full, every resource, by
the real pipeline into a DuckDB file that is kept in ``--cache`` (the 1 M load takes a while; later
runs reuse it). Then, on a copy, as ``sage-pipeline run`` runs it:

1. **full**: ``dbt build`` from scratch (seeds, models, unit tests, data tests, reconciliations),
   timed, with the peak memory of dbt's process (each build runs in a fresh child, so the peak is
   that build's alone);
2. **incremental**: the sandbox lets one day of business happen (``/_sandbox/advance``), the
   pipeline loads it incrementally into the same copy, and ``dbt build`` runs again: what an
   hourly or daily run costs once the marts exist;
3. the forecast's backtest error (``rpt_cash_forecast_accuracy``) as the build left it.

``--models-only`` adds a full build of models and seeds alone, so the cost of the tests is visible.
Figures depend on the machine (2 cores here); compare within one run. The last line reads
``marts: full F s (peak M MB), incremental I s after one day, backtest MAE E% of average cash``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import duckdb
import httpx

from benchmarks.pipeline_throughput import sandbox_args
from pipelines.marts import MartsReport, MartsRequest, build_marts
from pipelines.runner import RunRequest, run
from sage_sandbox.server import SandboxProcess
from testkit.pipeline_env import PREFIX, patched_env, sage_env
from testkit.sage_http import login

PIPELINE = "bench_marts"


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
        started = time.perf_counter()
        load(sandbox, home, home / "warehouse.duckdb")
        print(f"loaded {invoices:,} invoices' books in {time.perf_counter() - started:.0f}s", flush=True)
        shutil.copyfile(home / "warehouse.duckdb", database)
    return database


def load(sandbox: SandboxProcess, home: Path, database: Path) -> dict[str, int]:
    """One run of the pipeline from ``sandbox`` into ``database``: a first load, or an incremental one
    when the file already holds a load (dlt restores the pipeline's state from it)."""
    env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
    # A fixture for dbt: each list read whole in one package, as its time was measured (a first
    # load in windows, sage_source.backfill, is what a real first load of these books does).
    env[f"{PREFIX}BACKFILL_WINDOW_ROWS"] = "0"
    with patched_env(env):
        report = run(
            RunRequest(
                pipeline_name=PIPELINE,
                duckdb_path=str(database),
                pipelines_dir=str(home / "pipelines"),
                progress=False,
            )
        )
    return report.rows


def _build_in_child(request: MartsRequest) -> tuple[MartsReport, int]:
    """Runs in a fresh process: the build, and the peak RSS (MB) of dbt, this process's only child."""
    report = build_marts(request)
    return report, round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def timed_build(database: Path, work: Path, *extra: str) -> tuple[MartsReport, int, list[dict[str, Any]]]:
    """``dbt build`` (with ``extra`` arguments) on ``database`` with its own target folder ``work``:
    the report, dbt's peak memory in MB, and dbt's results per node."""
    work.mkdir(parents=True, exist_ok=True)
    request = MartsRequest(work_dir=work, duckdb_path=str(database), extra_args=extra)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        report, peak_mb = pool.submit(_build_in_child, request).result()
    assert report.target_dir is not None
    document = json.loads((report.target_dir / "run_results.json").read_text())
    results: list[dict[str, Any]] = document["results"]
    return report, peak_mb, results


def one_day_later(invoices: int, snapshot_dir: Path | None, database: Path, home: Path) -> dict[str, Any]:
    """The books a day on: the sandbox (restored from its snapshot) lets a day of business happen,
    and the pipeline loads it incrementally into ``database``."""
    with SandboxProcess(*sandbox_args(invoices, 1, snapshot_dir)) as sandbox:
        changes = httpx.post(f"{sandbox.urls.admin}/advance", json={"days": 1}, timeout=600).json()
        started = time.perf_counter()
        rows = load(sandbox, home, database)
        seconds = time.perf_counter() - started
    return {"sandbox": changes, "rows_loaded": sum(rows.values()), "load_seconds": round(seconds, 1)}


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


def backtest_error(database: Path) -> float | None:
    """The forecast's backtest error, MAE of weekly closing cash as % of average cash, over the
    businesses of ``database`` (their mean); None when the mart has no figure."""
    with duckdb.connect(str(database), read_only=True) as con:
        try:
            row = con.execute(
                "select avg(mae_pct_of_average_cash) from marts.rpt_cash_forecast_accuracy"
            ).fetchone()
        except duckdb.CatalogException:  # a project without the backtest mart
            return None
    return None if row is None or row[0] is None else round(float(row[0]), 1)


def node_seconds(results: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds spent per kind of node (model, seed, test, ...), summed over dbt's threads."""
    spent: dict[str, float] = {}
    for result in results:
        kind = str(result["unique_id"]).split(".")[0]
        spent[kind] = round(spent.get(kind, 0.0) + float(result["execution_time"]), 1)
    return spent


def figures_of(report: MartsReport, peak_mb: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "seconds": round(report.seconds, 1),
        "peak_mb": peak_mb,
        **report.statuses,
        "node_seconds": node_seconds(results),
        "failures": report.failures,
        "slowest": slowest(results, 15),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--snapshot-dir", type=Path, help="reuse sandbox books built by an earlier run")
    parser.add_argument(
        "--cache", type=Path, default=Path(".cache"), help="where the loaded DuckDB file is kept"
    )
    parser.add_argument(
        "--models-only", action="store_true", help="also time a build of models and seeds alone"
    )
    parser.add_argument("--no-incremental", action="store_true", help="the full build only")
    args = parser.parse_args()
    source = loaded_warehouse(args.invoices, args.snapshot_dir, args.cache)
    figures: dict[str, Any] = {"invoices": args.invoices, "rows": sizes(source)}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        database = work / "warehouse.duckdb"
        shutil.copyfile(source, database)
        full = figures["full"] = figures_of(*timed_build(database, work / "dbt"))
        if args.models_only:
            models_copy = work / "models.duckdb"
            shutil.copyfile(source, models_copy)
            only = ("--resource-type", "model", "--resource-type", "seed")
            figures["models_only"] = figures_of(*timed_build(models_copy, work / "dbt-models", *only))
            models_copy.unlink()
        incremental: dict[str, Any] | None = None
        if not args.no_incremental:
            figures["one_day"] = one_day_later(args.invoices, args.snapshot_dir, database, work / "day")
            incremental = figures["incremental"] = figures_of(*timed_build(database, work / "dbt"))
        error = figures["backtest_mae_pct"] = backtest_error(database)
    print(json.dumps(figures, indent=2), flush=True)
    after_a_day = f"{incremental['seconds']:.1f} s" if incremental else "not run"
    print(
        f"marts: full {full['seconds']:.1f} s (peak {full['peak_mb']} MB), incremental {after_a_day} "
        f"after one day, backtest MAE {'n/a' if error is None else f'{error:.1f}'}% of average cash"
    )


if __name__ == "__main__":
    main()
