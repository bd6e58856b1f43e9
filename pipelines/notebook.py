"""``sage-pipeline notebook``: the cash-flow analysis notebook, run for each business into an HTML page,
PNG charts and the data behind each chart.

papermill executes ``notebooks/cash_flow_analysis.ipynb`` with the business, the period and the
output folder injected into its ``parameters`` cell — the same way any scheduler that runs notebooks
would — in a child process, so the Jupyter kernel's chatter goes to a log file and the kernel never
sees the pipeline's Sage settings. papermill and its kernel die with the pipeline, even one killed
with SIGKILL (:mod:`pipelines.children`). nbconvert turns the executed notebook into one
self-contained HTML page. A cell that fails stops the run with that cell and its error; the executed
notebook, traceback included, is kept for reading.

The marts are read from a DuckDB file or from PostgreSQL (:mod:`pipelines.marts_reader`). A
PostgreSQL password is never a parameter — papermill writes the parameters into the executed
notebook — but ``PGPASSWORD`` in the kernel's environment, which libpq reads and nothing prints.
"""

from __future__ import annotations

import html
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pipelines.children import run_child
from pipelines.marts import environment_without_secrets
from pipelines.marts_reader import is_postgres, open_marts, read_errors
from pipelines.package import data_folder

# The repository's notebooks/, installed with us (pipelines.package); papermill only reads it.
NOTEBOOK = data_folder("pipelines.notebooks") / "cash_flow_analysis.ipynb"
KERNEL = "python3"  # ipykernel's kernel, which runs with this same Python (the project's .venv)


class NotebookInputError(Exception):
    """A database, business or period the notebook cannot be run for; the message says what to change."""


class NotebookCellError(Exception):
    """A notebook cell raised: the message names the cell and the error."""


@dataclass(frozen=True)
class NotebookRequest:
    # The DuckDB file `sage-pipeline run` loaded and dbt built, or a PostgreSQL URL without its password.
    database: Path | str
    out_dir: Path  # one folder per business is made in it
    businesses: Sequence[str] = ()  # ids or exact names; empty: every business in the warehouse
    start_date: str | None = None  # YYYY-MM-DD; None: twelve months before end_date
    end_date: str | None = None  # YYYY-MM-DD; None: the marts' as-of date
    minimum_cash: Decimal | None = None  # None: the dbt var the forecast was built with
    notebook: Path = NOTEBOOK
    password: str | None = field(default=None, repr=False)  # PostgreSQL's; the kernel's PGPASSWORD


@dataclass(frozen=True)
class NotebookReport:
    business_id: str
    business_name: str
    html: Path
    executed: Path  # the notebook with its outputs, for Jupyter
    charts: tuple[Path, ...]  # PNGs, each with a CSV of its data beside it
    summary: dict[str, Any]  # the notebook's summary.json (amounts as exact strings)
    seconds: float


def run_notebooks(request: NotebookRequest) -> list[NotebookReport]:
    """Execute the notebook once per business, in the order the businesses were asked for (else by name)."""
    if request.start_date and request.end_date and request.start_date > request.end_date:
        raise NotebookInputError(f"--from {request.start_date} is after --to {request.end_date}")
    missing = [name for name in ("papermill", "nbconvert", "matplotlib", "ipykernel") if not find_spec(name)]
    if missing:
        raise NotebookInputError(
            f"the notebook needs {', '.join(missing)}: "
            "pip install 'sage-accounting-elt[notebook]' (make venv does)"
        )
    businesses = _businesses(request)
    folders = _folders([name for _, name in businesses])
    return [
        _run_one(request, business_id, name, request.out_dir.resolve() / folder)
        for (business_id, name), folder in zip(businesses, folders, strict=True)
    ]


def _businesses(request: NotebookRequest) -> list[tuple[str, str]]:
    """(id, name) of each business asked for, checked against the warehouse before a kernel starts."""
    database = request.database
    if not is_postgres(str(database)) and not Path(database).is_file():
        raise NotebookInputError(
            f"no DuckDB file at {database}: pass --duckdb with the file `sage-pipeline run` loads into"
        )
    destination = " --destination postgres" if is_postgres(str(database)) else ""  # for the hints
    try:
        with closing(open_marts(str(database), request.password)) as marts:
            built = {
                row["table_name"]
                for row in marts.query(
                    "select table_name from information_schema.tables where table_schema = 'marts' "
                    "and table_name in ('fct_cash_position_daily', 'dim_businesses')"
                ).to_pylist()
            }
            if "fct_cash_position_daily" not in built:
                raise NotebookInputError(
                    f"{database} has no marts yet: run `sage-pipeline run{destination}` (without --skip-dbt) "
                    "first"
                )
            if "dim_businesses" not in built:  # marts built before dim_businesses existed
                raise NotebookInputError(
                    f"{database} has marts from an older sage-pipeline: run `sage-pipeline run{destination}` "
                    "(without --skip-dbt) to rebuild them"
                )
            known = [
                (row["business_id"], row["business_name"])
                for row in marts.query(
                    "select business_id, business_name from marts.dim_businesses order by business_name"
                ).to_pylist()
            ]
    except read_errors() as error:
        first_line = str(error).strip().splitlines()[0]
        raise NotebookInputError(f"cannot read {database}: {first_line}") from None
    if not request.businesses:
        return [(str(business_id), str(name)) for business_id, name in known]
    chosen = []
    for wanted in request.businesses:
        match = [(str(i), str(n)) for i, n in known if wanted in (i, n)]
        if not match:
            listed = "; ".join(f"{name} ({business_id})" for business_id, name in known)
            raise NotebookInputError(f"no business {wanted!r} in {database}; it has: {listed}")
        chosen.append(match[0])
    return chosen


def _folders(names: Sequence[str]) -> list[str]:
    """A readable folder per business ("northwind-trading-ltd"), numbered if two names slug alike."""
    folders: list[str] = []
    for name in names:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "business"
        folders.append(slug if slug not in folders else f"{slug}-{len(folders) + 1}")
    return folders


def _run_one(request: NotebookRequest, business_id: str, name: str, folder: Path) -> NotebookReport:
    folder.mkdir(parents=True, exist_ok=True)
    charts = folder / "charts"
    executed = folder / request.notebook.name
    html = folder / f"{request.notebook.stem}.html"
    for stale in [html, executed, *charts.glob("*.png"), *charts.glob("*.csv"), charts / "summary.json"]:
        stale.unlink(missing_ok=True)  # a rerun, even a failed one, never shows a previous run's page
    parameters = {
        "database": _location(request.database),
        "business": business_id,
        "start_date": request.start_date,
        "end_date": request.end_date,
        "minimum_cash": None if request.minimum_cash is None else str(request.minimum_cash),
        "output_dir": str(charts.resolve()),
    }
    env = environment_without_secrets()
    if request.password:
        env["PGPASSWORD"] = request.password  # libpq reads it; a parameter would be written down
    started = time.perf_counter()
    with (folder / "kernel.log").open("w") as log:
        completed = run_child(
            [
                sys.executable, "-m", "papermill", str(request.notebook), str(executed),
                "--kernel", KERNEL, "--cwd", str(folder), "--no-progress-bar",
                "--parameters_yaml", json.dumps(parameters),  # JSON is YAML, and keeps every type
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    if completed.returncode != 0:
        raise NotebookCellError(f"{name}: {_failure(executed, folder / 'kernel.log')}")
    html.write_text(_html(executed, f"Cash-flow analysis — {name}"), encoding="utf-8")
    summary = json.loads((charts / "summary.json").read_text(encoding="utf-8"))
    return NotebookReport(
        business_id=business_id,
        business_name=name,
        html=html,
        executed=executed,
        charts=tuple(sorted(charts.glob("*.png"))),
        summary=summary,
        seconds=time.perf_counter() - started,
    )


def _location(database: Path | str) -> str:
    """The notebook's ``database``: a PostgreSQL URL as given (no password), a DuckDB file absolute
    (the kernel runs in the business's folder)."""
    return str(database) if is_postgres(str(database)) else str(Path(database).resolve())


def _failure(executed: Path, log: Path) -> str:
    """The cell that raised and its error, read from the executed notebook papermill kept."""
    if executed.is_file():
        notebook = json.loads(executed.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    lines = "".join(cell["source"]).strip().splitlines() or [""]
                    return (
                        f"the notebook failed in cell In [{cell.get('execution_count')}] ({lines[0]}): "
                        f"{output['ename']}: {output['evalue']}. "
                        f"The executed notebook, with the traceback, is {executed}"
                    )
    lines = log.read_text().strip().splitlines() if log.is_file() else []
    return f"the notebook did not run: {lines[-1] if lines else 'no output'} (the kernel's log: {log})"


def _html(executed: Path, title: str) -> str:
    """One self-contained page: the markdown and the outputs, charts inline, code left to the .ipynb."""
    import nbformat  # noqa: PLC0415 (only this command needs Jupyter's libraries)
    from nbconvert import HTMLExporter  # noqa: PLC0415

    notebook = nbformat.read(executed, as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.log.setLevel(logging.ERROR)  # it warns of the alternative text we put back below
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    # nbconvert's template drops an image's "alt"; each chart's title is its alternative text.
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                alt = html.escape(str(output.get("metadata", {}).get("alt", "chart")), quote=True)
                body = body.replace(_NO_ALT, f'alt="{alt}"', 1)
    return str(body)


_NO_ALT = 'alt="No description has been provided for this image"'  # what nbconvert writes instead
