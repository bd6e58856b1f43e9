"""``sage-pipeline demo`` (``make demo``): the whole path without a Sage account.

A sandbox Sage (``sage-sandbox serve``, a child process on loopback) stands in for
api.accounting.sage.com. The demo points the settings at it the way a user would (environment
variables), runs the real ``auth`` flow (the sandbox approves at once), loads every business
into DuckDB, checks the warehouse against the sandbox's own books, lets a week of business
happen, runs again incrementally with ``dbt build``, and runs the cash-flow notebook for each
business into HTML and PNGs. Nothing here is special-cased for the sandbox.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import duckdb
import httpx
import orjson

from pipelines.auth_flow import run_auth
from pipelines.exits import Exit
from pipelines.marts_summary import print_marts_summary
from pipelines.notebook import NotebookRequest, run_notebooks
from pipelines.report import print_notebook_reports, print_report
from pipelines.runner import RunRequest, run
from pipelines.settings import pipeline_settings
from sage_sandbox.server import SandboxProcess

SANDBOX_CLIENT = ("sandbox-client", "sandbox-secret")


def run_demo(invoices: int, folder: str, out: TextIO) -> int:
    home = Path(folder).resolve()
    shutil.rmtree(home, ignore_errors=True)  # the sandbox is new each time: so is the warehouse
    home.mkdir(parents=True)
    database = home / "warehouse.duckdb"  # not sage.duckdb: DuckDB would confuse the file with the dataset
    started = time.perf_counter()
    logging.getLogger("sage_source").setLevel(logging.WARNING)  # the demo prints its own summary
    print(f"Starting a sandbox Sage with {invoices:,} sales invoices per business ...", file=out, flush=True)
    with SandboxProcess("--seed", "42", "--invoices", str(invoices)) as sandbox:
        urls = sandbox.urls
        print(f"  serving {urls.api} (ready in {time.perf_counter() - started:.0f}s)\n", file=out)
        os.environ.update(
            {
                "SOURCES__SAGE_ACCOUNTING__CLIENT_ID": SANDBOX_CLIENT[0],
                "SOURCES__SAGE_ACCOUNTING__CLIENT_SECRET": SANDBOX_CLIENT[1],
                "SOURCES__SAGE_ACCOUNTING__API_BASE_URL": urls.api,
                "SOURCES__SAGE_ACCOUNTING__TOKEN_URL": urls.token,
                "SOURCES__SAGE_ACCOUNTING__AUTHORIZE_URL": urls.authorize,
                "SOURCES__SAGE_ACCOUNTING__TOKEN_STORE": str(home / "tokens.json"),
                "SOURCES__SAGE_ACCOUNTING__REDIRECT_URI": "http://127.0.0.1:0/callback",
            }
        )
        print("1. sage-pipeline auth (the sandbox approves at once)", file=out)
        run_auth(pipeline_settings(), out, open_url=_approve_in_background)
        print(f"   tokens stored in {home / 'tokens.json'} (mode {_mode(home / 'tokens.json')})\n", file=out)

        request = RunRequest(
            pipeline_name="sage_demo",
            duckdb_path=str(database),
            pipelines_dir=str(home / "pipelines"),
            progress=False,
        )
        print("2. sage-pipeline run (first run: everything)", file=out, flush=True)
        print_report(run(request), out)
        _compare(urls.admin, database, out)

        print("\n3. a week of business in Sage: new invoices, payments, edits, voids, deletes", file=out)
        summary = httpx.post(f"{urls.admin}/advance", json={"days": 7}, timeout=600).json()
        print(f"   {_summarise(summary)}", file=out)
        httpx.delete(f"{urls.admin}/counters")
        print(
            "\n4. sage-pipeline run (incremental), then dbt build: the marts and their reconciliations",
            file=out,
            flush=True,
        )
        final = run(replace(request, build_marts=True))
        print_report(final, out)
        counters = httpx.get(f"{urls.admin}/counters").json()
        api_requests = sum(
            n for route, outcomes in counters.items() if "/v3.1/" in route for n in outcomes.values()
        )
        print(f"   {api_requests} API requests for the whole incremental run", file=out)
        _compare(urls.admin, database, out)

    if final.marts is None or not final.marts.ok:
        print(f"Demo stopped after {time.perf_counter() - started:.0f}s: the marts did not build.", file=out)
        return Exit.MARTS
    print("\n5. sage-pipeline notebook: the cash-flow analysis for each business", file=out, flush=True)
    print_notebook_reports(run_notebooks(NotebookRequest(database=database, out_dir=home / "reports")), out)
    print_marts_summary(database, out)
    print(f"\nThe warehouse: {database}", file=out)
    print(f"Query it:      {query_command(database, 'select * from marts.rpt_ar_aging limit 5')}", file=out)
    print(f"Open:          {home / 'reports'}/<business>/cash_flow_analysis.html", file=out)
    print(f"Demo done in {time.perf_counter() - started:.0f}s.", file=out)
    return Exit.OK


def query_command(database: Path, sql: str) -> str:
    """A shell command that runs ``sql`` on the warehouse with what a fresh clone has: the project's
    Python and its duckdb package (the DuckDB command-line tool is not installed)."""
    connect = f"duckdb.connect({json.dumps(str(database))}, read_only=True)"
    code = f"import duckdb; {connect}.sql({json.dumps(sql)}).show()"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _approve_in_background(url: str) -> None:
    """What a person does in the browser: open the consent page (the sandbox approves at once)."""
    threading.Thread(target=httpx.get, args=(url,), kwargs={"follow_redirects": True}, daemon=True).start()


def _compare(admin: str, database: Path, out: TextIO) -> None:
    """Live rows and invoice totals per business: the warehouse against the sandbox's books."""
    status = httpx.get(f"{admin}/status").json()
    with duckdb.connect(str(database), read_only=True) as db:
        for business in status["business_ids"]:
            truth = _truth(admin, business)
            loaded = db.execute(
                "SELECT count(*), coalesce(sum(total_amount), 0) FROM sage.sales_invoices "
                "WHERE business_id = ? AND NOT is_deleted",
                [business],
            ).fetchone()
            count, total = loaded if loaded else (0, Decimal(0))
            expected = sum((Decimal(r["total_amount"]) for r in truth), Decimal(0))
            same = count == len(truth) and total == expected
            print(
                f"   business {business}: {count:,} invoices, total {total:,.2f} "
                f"{'= the sandbox' if same else f'!= the sandbox ({len(truth):,}, {expected:,.2f})'}",
                file=out,
            )


def _truth(admin: str, business: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{admin}/ground_truth", params={"business": business, "resource": "sales_invoices"})
    return [orjson.loads(line)["row"] for line in response.content.splitlines() if line]


def _summarise(summary: dict[str, Any]) -> str:
    """``{"businesses": {id: {"created": {resource: n}, ...}}}`` as "12 created, 9 updated, 1 deleted"."""
    totals = {"created": 0, "updated": 0, "deleted": 0}
    for changes in summary.get("businesses", {}).values():
        for kind in totals:
            totals[kind] += sum(changes.get(kind, {}).values())
    return ", ".join(f"{n} rows {kind}" for kind, n in totals.items())


def _mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)
