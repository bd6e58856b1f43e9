"""What a run prints when it is done: where the rows went, and how many per table; where the notebook's
reports are, and the figures they lead with."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from pipelines.notebook import NotebookReport
from pipelines.runner import RunReport, duckdb_file
from sage_source.outcomes import FAILED, LOADED, SKIPPED


def print_report(report: RunReport, out: TextIO) -> None:
    loaded = {table: rows for table, rows in sorted(report.rows.items()) if rows}
    where = duckdb_file(report.pipeline) or report.destination
    print(
        f"Loaded {report.total_rows:,} rows into {where} (dataset {report.dataset}) in {report.seconds:.1f}s",
        file=out,
    )
    for table, rows in loaded.items():
        print(f"  {table:<48} {rows:>10,}", file=out)
    print_outcomes(report, out)
    if report.marts is not None:
        print(report.marts.summary(), file=out)
        for failure in report.marts.failures[:20]:
            print(f"  {failure}", file=out)
        if report.marts.target_dir:
            print(f"  dbt's logs and results: {report.marts.target_dir.parent}", file=out)


def print_outcomes(report: RunReport, out: TextIO) -> None:
    """Each business × resource's outcome, counted; those that did not load, one line each."""
    if not report.outcomes:
        return
    counts = ", ".join(
        f"{len(report.with_outcome(outcome))} {outcome}" for outcome in (LOADED, SKIPPED, FAILED)
    )
    requests = sum(u.requests for u in report.outcomes)
    reread = sum(u.reread_requests for u in report.outcomes)
    print(
        f"Business × resource: {counts} ({requests:,} requests, of which {reread:,} to read again rows "
        "that changed while their list was paged)",
        file=out,
    )
    for unit in report.outcomes:
        if unit.outcome != LOADED:
            print(f"  {unit.outcome:<8} {unit.message}", file=out)


def print_notebook_reports(reports: Sequence[NotebookReport], out: TextIO) -> None:
    for report in reports:
        summary = report.summary
        currency = summary["currency"]
        print(f"{report.business_name}: the cash-flow analysis ({report.seconds:.0f}s)", file=out)
        print(f"  report  {report.html}", file=out)
        print(f"  charts  {report.charts[0].parent if report.charts else '(none)'}/", file=out)
        for chart in report.charts:
            print(f"            {chart.name}", file=out)
        weeks_short = summary["forecast_weeks_below_minimum"]
        lowest = Decimal(summary["forecast_lowest_closing_cash"])
        print(
            f"  cash {currency} {Decimal(summary['cash_total']):,.2f} at {summary['cash_on']}; "
            f"lowest in the 13-week forecast {currency} {lowest:,.2f} "
            f"(week {summary['forecast_lowest_week']}"
            f"{f', {weeks_short} weeks below the minimum' if weeks_short else ''}); "
            f"owed by customers at {summary['ar_on']} {currency} {Decimal(summary['ar_open']):,.2f}, "
            f"of which overdue {Decimal(summary['ar_overdue']):,.2f}",
            file=out,
        )
        unreconciled = summary.get("reconciliations_failed") or []
        if unreconciled:
            print(
                f"  warning: {len(unreconciled)} reconciliation(s) did not tie for this business "
                f"({', '.join(unreconciled)}); the page says so above its charts",
                file=out,
            )
