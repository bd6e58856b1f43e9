"""The source end to end: invoices per second into DuckDB, memory, rate-limit use, quiet reruns.

    .venv/bin/python -m benchmarks.pipeline_throughput throughput --invoices 100000 1000000 \\
        --snapshot-dir .cache/sandbox
    .venv/bin/python -m benchmarks.pipeline_throughput rate-limit --per-minute 600
    .venv/bin/python -m benchmarks.pipeline_throughput no-change
    .venv/bin/python -m benchmarks.pipeline_throughput reread --invoices 2000

``throughput``: a sandbox (``sage-sandbox serve`` in its own process, one business, unthrottled)
holds N invoices; a fresh pipeline process loads ``sales_invoices`` (invoices, their lines, tax
analysis and payment allocations) into a new DuckDB file. Reported: invoices per second over the
pipeline's run (extract + normalize + load + deletions, from ``pipelines.runner``) and over the
whole process (Python start and imports included), the process's peak RSS (``wait4``), and a check
that the table holds every invoice. The 1 M sandbox takes ~25 min to build the first time; with
``--snapshot-dir`` later runs reload it in ~20 s.

``rate-limit``: the sandbox allows ``--per-minute`` requests in any 60 s (a real clock); the source
is told the same budget and loads every resource page by page (small pages, so the budget binds).
Reported: requests, 429s and failures served, and the sustained request rate after the first
minute's burst against the allowed rate.

``no-change``: a full load of every resource of two businesses, then a second run with nothing
changed; reported: requests per business x resource (target <= 2).

``reread``: what reading again the rows edited while a list was paged costs. Two businesses (the
demo's size by default): a first load while the books move on (a day of business every half
second, on the sandbox's clock), then an incremental load after a week. Reported per run, from
``sage_resource_outcomes``: requests, of which re-reads, and the rows read again.

Figures depend on the machine (2 cores here, shared with the sandbox); compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

from pipelines.runner import RunRequest, run
from sage_sandbox.server import SandboxProcess
from sage_source.settings import RESOURCE_NAMES
from sage_source.tables import OUTCOMES_TABLE, RUN_STARTED_AT
from testkit.pipeline_env import PREFIX, sage_env
from testkit.sage_http import login

FIXED_NOW = "2026-11-21T12:00:00Z"


def run_child(
    env: dict[str, str],
    home: Path,
    resources: list[str] | None,
    destination: str = "duckdb",
    module: str = "benchmarks.pipeline_throughput",
) -> dict[str, Any]:
    """Run one pipeline in a fresh process (``module``'s ``child`` command); its figures plus its own
    peak RSS. A destination other than DuckDB takes its credentials from ``env``, as dlt does."""
    request = {"home": str(home), "resources": resources, "destination": destination}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "child", json.dumps(request)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the pipeline process failed with exit code {process.returncode}")
    result: dict[str, Any] = json.loads(output)
    result["process_seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # kilobytes on Linux
    return result


def child(request_json: str) -> None:
    """The pipeline process: one ``pipelines.runner.run``; figures as JSON on stdout."""
    request = json.loads(request_json)
    home = Path(request["home"])
    destination = request.get("destination", "duckdb")
    report = run(
        RunRequest(
            pipeline_name="bench",
            destination=destination,
            duckdb_path=str(home / "warehouse.duckdb") if destination == "duckdb" else None,
            pipelines_dir=str(home / "pipelines"),
            progress=False,
            resources=request["resources"],
        )
    )
    trace = report.pipeline.last_trace
    steps = {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
        for step in (trace.steps if trace else [])
        if step.finished_at is not None
    }
    print(json.dumps({"run_seconds": report.seconds, "rows": report.rows, "steps": steps}))


def sandbox_args(invoices: int, businesses: int, snapshot_dir: Path | None, frozen: bool = True) -> list[str]:
    args = ["--businesses", str(businesses), "--invoices", str(invoices), "--now", FIXED_NOW]
    if frozen:
        args.append("--frozen-clock")
    if snapshot_dir is not None:
        args += ["--snapshot-dir", str(snapshot_dir)]
    return args


def throughput(invoices: int, snapshot_dir: Path | None, window_rows: int = 0) -> dict[str, Any]:
    """``window_rows``: ``backfill_window_rows`` (0, the default here: the list read whole in one
    package, as the README's figures were measured; a first load in windows reports the steps of
    its last pass only, and ``run_seconds`` for all)."""
    with (
        SandboxProcess(*sandbox_args(invoices, 1, snapshot_dir)) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
    ):
        home = Path(tmp)
        env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
        env[f"{PREFIX}BACKFILL_WINDOW_ROWS"] = str(window_rows)
        result = run_child(env, home, ["sales_invoices"])
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            loaded = con.execute("SELECT count(*) FROM sage.sales_invoices").fetchone()
            lines = con.execute("SELECT count(*) FROM sage.sales_invoices__invoice_lines").fetchone()
        assert loaded is not None and lines is not None
        if loaded[0] != invoices:
            raise SystemExit(f"loaded {loaded[0]} invoices, the sandbox holds {invoices}")
        return {
            "invoices": invoices,
            "invoice_lines": lines[0],
            "invoices_per_second": round(invoices / result["run_seconds"]),
            "invoices_per_second_whole_process": round(invoices / result["process_seconds"]),
            "run_seconds": round(result["run_seconds"], 2),
            "steps": result["steps"],
            "peak_rss_mb": round(result["peak_rss_mb"]),
        }


def api_requests(admin: str) -> dict[str, dict[str, int]]:
    counters: dict[str, dict[str, int]] = httpx.get(f"{admin}/counters").json()
    return {route: outcomes for route, outcomes in counters.items() if " /v3.1/" in route}


def rate_limit(per_minute: int, invoices: int, items_per_page: int) -> dict[str, Any]:
    args = [*sandbox_args(invoices, 2, None, frozen=False), "--per-minute", str(per_minute)]
    with SandboxProcess(*args) as sandbox, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
        env["SOURCES__SAGE_ACCOUNTING__REQUESTS_PER_MINUTE"] = str(per_minute)
        env["SOURCES__SAGE_ACCOUNTING__ITEMS_PER_PAGE"] = str(items_per_page)
        env.pop("SOURCES__SAGE_ACCOUNTING__RETRY_BACKOFF_SECONDS")
        httpx.delete(f"{sandbox.urls.admin}/counters")
        samples: list[tuple[float, int]] = []
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.pipeline_throughput",
                "child",
                json.dumps({"home": tmp, "resources": None}),
            ],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
        )
        while process.poll() is None:  # when did requests arrive: sample the sandbox's counters
            outcomes = api_requests(sandbox.urls.admin)
            samples.append((time.monotonic(), sum(sum(o.values()) for o in outcomes.values())))
            time.sleep(0.25)
        if process.returncode != 0:
            raise SystemExit(f"the pipeline process failed with exit code {process.returncode}")
        outcomes = api_requests(sandbox.urls.admin)
    served = [(at, count) for at, count in samples if count > 0]
    total = sum(sum(o.values()) for o in outcomes.values())
    refused = sum(o.get("429", 0) for o in outcomes.values())
    failed = sum(n for o in outcomes.values() for status, n in o.items() if status not in ("200", "429"))
    first = served[0][0]
    last = next(at for at, count in served if count == served[-1][1])
    # Sage allows per_minute requests in any 60 s, so in k whole minutes from the first request
    # at most k x per_minute can arrive: compare what did against that.
    minutes = int((last - first) // 60)
    if minutes < 1:
        raise SystemExit("the run took under a minute; give it more pages (--invoices, --items-per-page)")
    in_minutes = max(count for at, count in served if at <= first + 60 * minutes)
    return {
        "allowed_per_minute": per_minute,
        "requests": total,
        "refused_429": refused,
        "failed": failed,
        "seconds": round(last - first, 1),
        "requests_in_whole_minutes": in_minutes,
        "whole_minutes": minutes,
        "share_of_allowed": round(in_minutes / (minutes * per_minute), 3),
    }


def no_change(invoices: int) -> dict[str, Any]:
    with SandboxProcess(*sandbox_args(invoices, 2, None)) as sandbox, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
        run_child(env, home, None)
        first = sum(sum(o.values()) for o in api_requests(sandbox.urls.admin).values())
        httpx.delete(f"{sandbox.urls.admin}/counters")
        env.pop("SOURCES__SAGE_ACCOUNTING__REFRESH_TOKEN")  # the store owns the chain now
        run_child(env, home, None)
        outcomes = api_requests(sandbox.urls.admin)
    businesses = 2
    total = sum(sum(o.values()) for o in outcomes.values())
    per_route = {route: sum(o.values()) for route, o in outcomes.items()}
    return {
        "businesses": businesses,
        "resources": len(RESOURCE_NAMES),
        "first_run_requests": first,
        "no_change_requests": total,
        "per_business_resource": round(total / (businesses * len(RESOURCE_NAMES)), 2),
        "most_per_route_per_business": max(per_route.values()) / businesses,
    }


def reread(invoices: int) -> dict[str, Any]:
    with SandboxProcess(*sandbox_args(invoices, 2, None)) as sandbox, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = sage_env(sandbox, home / "tokens.json", str(login(sandbox.urls)["refresh_token"]))
        moving = threading.Event()

        def business_goes_on() -> None:
            while not moving.wait(0.5):
                httpx.post(f"{sandbox.urls.admin}/advance", json={"days": 1}, timeout=60).raise_for_status()

        editor = threading.Thread(target=business_goes_on, daemon=True)
        editor.start()
        try:
            run_child(env, home, None)
        finally:
            moving.set()
            editor.join()
        first = _reread_figures(home)
        env.pop("SOURCES__SAGE_ACCOUNTING__REFRESH_TOKEN")  # the store owns the chain now
        httpx.post(f"{sandbox.urls.admin}/advance", json={"days": 7}, timeout=120).raise_for_status()
        run_child(env, home, None)
        return {
            "invoices": invoices,
            "first_load_books_moving": first,
            "incremental_after_a_week": _reread_figures(home),
        }


def _reread_figures(home: Path) -> dict[str, Any]:
    """The latest run's requests, re-read requests and rows read again (``sage_resource_outcomes``)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "SELECT sum(requests), sum(reread_requests), sum(reread_rows), count(*) "
            f"FROM sage.{OUTCOMES_TABLE} "
            f"WHERE {RUN_STARTED_AT} = (SELECT max({RUN_STARTED_AT}) FROM sage.{OUTCOMES_TABLE})"
        ).fetchone()
    assert found is not None
    requests, reread_requests, reread_rows, units = (int(v) for v in found)
    return {
        "requests": requests,
        "reread_requests": reread_requests,
        "reread_share": round(reread_requests / requests, 4),
        "rows_read_again": reread_rows,
        "business_resources": units,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    speed = commands.add_parser("throughput", help="invoices/s and peak RSS at one or more sizes")
    speed.add_argument("--invoices", type=int, nargs="+", default=[100_000])
    speed.add_argument("--snapshot-dir", type=Path, help="reuse sandbox books built by an earlier run")
    speed.add_argument("--window-rows", type=int, default=0, help="backfill_window_rows (0: read whole)")
    limited = commands.add_parser("rate-limit", help="request rate under the sandbox's per-minute limit")
    limited.add_argument("--per-minute", type=int, default=600)
    limited.add_argument("--invoices", type=int, default=300)
    limited.add_argument("--items-per-page", type=int, default=10)
    quiet = commands.add_parser("no-change", help="requests of a run after which nothing changed")
    quiet.add_argument("--invoices", type=int, default=200)
    again = commands.add_parser("reread", help="requests spent reading again rows edited while paged")
    again.add_argument("--invoices", type=int, default=2000)
    inner = commands.add_parser("child", help=argparse.SUPPRESS)
    inner.add_argument("request")
    args = parser.parse_args()

    if args.command == "child":
        child(args.request)
        return
    if args.command == "throughput":
        results = [throughput(n, args.snapshot_dir, args.window_rows) for n in args.invoices]
        for result in results:
            print(json.dumps(result), flush=True)
        if len(results) > 1:
            print(
                json.dumps(
                    {
                        "peak_rss_ratio_largest_to_smallest": round(
                            results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"], 2
                        )
                    }
                )
            )
    elif args.command == "reread":
        print(json.dumps(reread(args.invoices)))
    elif args.command == "rate-limit":
        print(json.dumps(rate_limit(args.per_minute, args.invoices, args.items_per_page)))
    else:
        print(json.dumps(no_change(args.invoices)))


if __name__ == "__main__":
    main()
