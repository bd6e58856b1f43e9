"""What a run prints when it is done: where the rows went, and how many per table."""

from __future__ import annotations

from typing import TextIO

from pipelines.runner import RunReport, duckdb_file


def print_report(report: RunReport, out: TextIO) -> None:
    loaded = {table: rows for table, rows in sorted(report.rows.items()) if rows}
    where = duckdb_file(report.pipeline) or report.destination
    print(
        f"Loaded {report.total_rows:,} rows into {where} (dataset {report.dataset}) in {report.seconds:.1f}s",
        file=out,
    )
    for table, rows in loaded.items():
        print(f"  {table:<48} {rows:>10,}", file=out)
    if report.marts is not None:
        print(report.marts.summary(), file=out)
        for failure in report.marts.failures[:20]:
            print(f"  {failure}", file=out)
        if report.marts.target_dir:
            print(f"  dbt's logs and results: {report.marts.target_dir.parent}", file=out)
