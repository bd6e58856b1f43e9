"""DuckDB against PostgreSQL: the same sandbox books loaded into each, rows per second.

    .venv/bin/python -m benchmarks.warehouse_throughput --invoices 20000 --repeats 3 \\
        --snapshot-dir .cache/sandbox [--postgres-csv]

A sandbox (``sage-sandbox serve`` in its own process, one business, unthrottled) holds N invoices; a
throwaway PostgreSQL server runs on loopback (:mod:`testkit.postgres_server`, ``make postgres``
installs it). Each repeat loads ``sales_invoices`` (invoices, their lines, tax analysis and payment
allocations) into a new DuckDB file and into an emptied PostgreSQL database, alternating, each in a
fresh pipeline process (:func:`benchmarks.pipeline_throughput.run_child`), so that a machine busy
with something else slows both alike. Reported per destination: the median over the repeats of rows
per second over the pipeline's run (extract + normalize + load + deletions), the steps' seconds of
that run, and the ratio PostgreSQL / DuckDB.

``--postgres-csv`` also times dlt's ``csv`` loader (PostgreSQL's ``COPY``), which
``pipelines/destinations.py`` does not use: Arrow's CSV writer cannot hold a nested list, so here
each list column is turned into a JSON string as the rows are extracted (it lands as ``text``, not
``jsonb``). An experiment, to know what ``insert_values`` costs; the pipeline is not changed by it.

Figures depend on the machine (2 cores here, shared with the sandbox and PostgreSQL); compare
within one run. The last line is one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pyarrow as pa

from benchmarks.pipeline_throughput import child as pipeline_child
from benchmarks.pipeline_throughput import run_child, sandbox_args
from sage_sandbox.server import SandboxProcess
from sage_source import sage_accounting
from testkit.pipeline_env import sage_env
from testkit.postgres_server import postgres_server
from testkit.sage_http import login

MODULE = "benchmarks.warehouse_throughput"
POSTGRES_CSV = "postgres_csv"  # the experiment's name: postgres loaded with dlt's csv loader


def load(destination: str, sandbox: SandboxProcess, postgres_url: str) -> dict[str, Any]:
    """One fresh load of the sandbox's invoices into ``destination``; its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
        env["DESTINATION__POSTGRES__CREDENTIALS"] = postgres_url
        if destination == "duckdb":
            result = run_child(env, home, ["sales_invoices"])
            with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as db:
                found = db.execute("SELECT count(*) FROM sage.sales_invoices").fetchone()
        else:
            empty_postgres(postgres_url)
            result = run_child(env, home, ["sales_invoices"], destination=destination, module=MODULE)
            with psycopg2.connect(postgres_url) as pg, pg.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM sage.sales_invoices")
                found = cursor.fetchone()
            pg.close()
    assert found is not None
    rows = sum(result["rows"].values())
    return {
        "invoices": found[0],
        "rows": rows,
        "run_seconds": round(result["run_seconds"], 2),
        "rows_per_second": round(rows / result["run_seconds"]),
        "steps": result["steps"],
    }


def empty_postgres(url: str) -> None:
    """Drop what an earlier load left (the dataset, dlt's staging dataset), so each load is a first."""
    with psycopg2.connect(url) as con, con.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS sage CASCADE; DROP SCHEMA IF EXISTS sage_staging CASCADE")
    con.close()


def child(request_json: str) -> None:
    """The pipeline process. For the csv experiment, the runner is given dlt's ``csv`` loader and a
    source whose list columns are JSON text, here only: ``pipelines/destinations.py`` stays as it is."""
    request = json.loads(request_json)
    if request["destination"] == POSTGRES_CSV:
        from pipelines import runner  # noqa: PLC0415 (only the experiment changes it)

        def lists_as_json(**settings: Any) -> Any:
            made = sage_accounting(**settings)
            for resource in made.resources.values():
                resource.add_map(nested_as_json)
            return made

        # The names runner.run looks up when it runs: replaced in this process only.
        vars(runner).update(sage_accounting=lists_as_json, loader_file_format=lambda pipeline: "csv")
        request["destination"] = "postgres"
    pipeline_child(json.dumps(request))


def nested_as_json(item: Any) -> Any:
    """An Arrow table with each list or struct column as JSON text; other items as they are."""
    if isinstance(item, pa.RecordBatch):
        item = pa.Table.from_batches([item])
    if not isinstance(item, pa.Table):
        return item
    for index, field in enumerate(item.schema):
        if pa.types.is_nested(field.type):
            values = item.column(index).to_pylist()
            text = [None if value is None else json.dumps(value, default=str) for value in values]
            item = item.set_column(index, pa.field(field.name, pa.string()), pa.array(text, pa.string()))
    return item


def benchmark(invoices: int, repeats: int, snapshot_dir: Path | None, csv: bool) -> dict[str, Any]:
    destinations = ["duckdb", "postgres", *([POSTGRES_CSV] if csv else [])]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in destinations}
    with SandboxProcess(*sandbox_args(invoices, 1, snapshot_dir)) as sandbox, postgres_server() as pg:
        url = f"postgresql://postgres:unused@127.0.0.1:{pg['SAGE_PG_PORT']}/{pg['SAGE_PG_DATABASE']}"
        for repeat in range(repeats):
            for name in destinations:  # alternating: a busy spell slows each destination alike
                result = load(name, sandbox, url)
                if result["invoices"] != invoices:
                    raise SystemExit(f"{name} holds {result['invoices']} invoices, the sandbox {invoices}")
                runs[name].append(result)
                print(json.dumps({"repeat": repeat + 1, "destination": name, **result}), flush=True)
    medians = {name: statistics.median(r["rows_per_second"] for r in found) for name, found in runs.items()}
    summary: dict[str, Any] = {
        "benchmark": "warehouse_throughput",
        "invoices": invoices,
        "rows": runs["duckdb"][0]["rows"],
        "repeats": repeats,
        **{f"{name}_rows_per_second": round(value) for name, value in medians.items()},
        "postgres_to_duckdb": round(medians["postgres"] / medians["duckdb"], 3),
    }
    if csv:
        summary["postgres_csv_to_duckdb"] = round(medians[POSTGRES_CSV] / medians["duckdb"], 3)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--snapshot-dir", type=Path, help="reuse sandbox books built by an earlier run")
    parser.add_argument("--postgres-csv", action="store_true", help="also time dlt's csv loader")
    parser.add_argument("command", nargs="?", choices=["child"], help=argparse.SUPPRESS)
    parser.add_argument("request", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.command == "child":
        child(args.request)
        return
    print(json.dumps(benchmark(args.invoices, args.repeats, args.snapshot_dir, args.postgres_csv)))


if __name__ == "__main__":
    main()
