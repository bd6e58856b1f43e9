"""Build the dbt marts (``dbt_models/``) over what a run just loaded: ``dbt build``.

The project ships inside the package (``pipelines.dbt_models``: :mod:`pipelines.package`) and is
only read: dbt's ``target/`` and ``logs/`` go to the request's ``work_dir``, never into the project,
whose folder may be a read-only site-packages.

dbt runs as a child process (the ``dbt`` beside this Python), not in ours: dbt keeps global state
(adapters, logging, flags) that does not belong in a long-lived pipeline process, and a child is
what a user running ``dbt build`` by hand gets too. The child dies with the pipeline, even one
killed with SIGKILL (:mod:`pipelines.children`), so it never holds the DuckDB file past its run.
It sees the warehouse through the variables ``dbt_models/profiles.yml`` reads, and none of the
pipeline's Sage settings, so no secret can reach dbt's logs. Results come from dbt's own
``run_results.json``.

A reconciliation that does not tie is a dbt *warning* (so every mart still builds: see
``dbt_models/README.md``) recorded in ``marts.reconciliation_failures``; here it counts as a
failure all the same: the report is not ok, and it names the reconciliation and where its rows are.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.children import run_child
from pipelines.package import data_folder

DBT_PROJECT = data_folder("pipelines.dbt_models")  # the repository's dbt_models/, installed with us
# DuckDB's memory while dbt builds, unless SAGE_DUCKDB_MEMORY_LIMIT says otherwise: at most 3 GB
# (beyond it DuckDB spills to disk), so dbt's process stays under 4 GB at 1 M invoices where DuckDB's
# own default, 80% of RAM, let it reach 8 GB; less on a machine with less memory.
DUCKDB_BUILD_MEMORY_MB = 3072
_SECRET_PREFIXES = ("SOURCES__", "DESTINATION__")  # the pipeline's settings; children need none of them


class MartsError(Exception):
    """dbt could not be started, or its project is missing."""


@dataclass(frozen=True)
class MartsRequest:
    work_dir: Path  # dbt's target/ and logs/ (per pipeline, so two pipelines never share them)
    dataset: str = "sage"
    duckdb_path: str | None = None  # the DuckDB file; None for another warehouse (target postgres)
    target: str = "duckdb"
    profile_env: dict[str, str] = field(default_factory=dict)  # the target's connection (SAGE_PG_*)
    project_dir: Path = DBT_PROJECT
    as_of_date: str | None = None  # "today" for aging and the forecast; default the load's date
    # dbt threads; None: the target's default (_default_threads says why DuckDB builds one node at a time)
    threads: int | None = None
    select: tuple[str, ...] = ()  # dbt node selection (default: everything)
    extra_args: tuple[str, ...] = ()  # more `dbt build` arguments (benchmarks: --resource-type model)
    # Rebuild the incremental marts whole (`dbt build --full-refresh`); without it a build after the
    # first one rebuilds only the periods whose inputs changed (dbt_models/README.md: Incremental builds).
    full_refresh: bool = False
    # dbt's unit tests check the models' SQL against fixed inputs, not the data: they cannot fail on
    # one load and pass on the next, so production builds leave them out (dbt's own advice) and the
    # project's tests (make test) run them.
    unit_tests: bool = False


@dataclass(frozen=True)
class MartsReport:
    ok: bool
    seconds: float
    statuses: dict[str, int]  # dbt node status (success, pass, error, fail, warn, skipped) → count
    failures: list[str] = field(default_factory=list)  # "test assert_trial_balance_is_zero: 3 rows"
    target_dir: Path | None = None
    reconciliations_failed: list[str] = field(default_factory=list)  # names, also among ``failures``

    def summary(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items()))
        return f"dbt build {'passed' if self.ok else 'FAILED'}: {counts} in {self.seconds:.1f}s"


def build_marts(request: MartsRequest) -> MartsReport:
    """Run ``dbt build`` (models, seeds, unit and data tests) and read what it reports."""
    if not (request.project_dir / "dbt_project.yml").is_file():
        raise MartsError(f"no dbt project at {request.project_dir}; pass --dbt-project-dir or --skip-dbt")
    target_dir = request.work_dir / "target"
    command = [
        dbt_executable(),
        "build",
        "--project-dir",
        str(request.project_dir),
        "--profiles-dir",
        str(request.project_dir),
        "--target",
        request.target,
        "--target-path",
        str(target_dir),
        "--log-path",
        str(request.work_dir / "logs"),
        "--threads",
        str(request.threads or _default_threads(request.target)),
    ]
    if request.select:
        command += ["--select", *request.select]
    if request.full_refresh:
        command.append("--full-refresh")
    if not request.unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    command += request.extra_args
    if request.as_of_date:
        command += ["--vars", json.dumps({"as_of_date": request.as_of_date})]
    (target_dir / "run_results.json").unlink(missing_ok=True)  # never read a previous build's results
    started = time.perf_counter()
    completed = run_child(
        command, env=_dbt_env(request), capture_output=True, text=True, cwd=request.project_dir
    )
    seconds = time.perf_counter() - started
    results = _read_results(target_dir / "run_results.json")
    if results is None:  # dbt stopped before running anything: a project or profile error
        detail = _last_error_line(completed.stdout + completed.stderr)
        return MartsReport(False, seconds, {"error": 1}, [detail], target_dir)
    statuses = Counter(str(r.get("status")) for r in results)
    failures = [_describe(r) for r in results if r.get("status") in ("error", "fail")]
    reconciliations = _tagged(target_dir / "manifest.json", RECONCILIATION_TAG)
    warned = [r for r in results if r.get("status") == "warn" and r.get("unique_id") in reconciliations]
    failures += [f"{_describe(r)} ({_where_recorded(r)})" for r in warned]
    failures += _missing_roles(completed.stdout)
    if completed.returncode != 0 and not failures:  # e.g. the on-run-end hook: no node failed
        failures.append(_last_error_line(completed.stdout + completed.stderr))
    ok = completed.returncode == 0 and not failures
    names = [str(r.get("unique_id")).rsplit(".", 1)[-1] for r in warned]
    return MartsReport(ok, seconds, dict(statuses), failures, target_dir, names)


RECONCILIATION_TAG = "reconciliation"  # dbt_project.yml tags tests/reconciliation/ with it
FAILURES_TABLE = "marts.reconciliation_failures"


def _tagged(manifest: Path, tag: str) -> set[str]:
    """Unique ids of the nodes dbt's manifest gives ``tag``."""
    try:
        nodes: dict[str, dict[str, object]] = json.loads(manifest.read_text())["nodes"]
    except (OSError, ValueError, KeyError):
        return set()
    return {uid for uid, node in nodes.items() if tag in (node.get("tags") or [])}  # type: ignore[operator]


def _missing_roles(output: str) -> list[str]:
    """The sentences dbt's on-run-end hook logs for each account role it could not find in a business
    (``macros/reconciliation_failures.sql``): each names the seed row that fixes it."""
    marker = "Account role missing: "
    return [line.split(marker, 1)[1].strip() for line in output.splitlines() if marker in line]


def _where_recorded(result: dict[str, object]) -> str:
    name = str(result.get("unique_id")).rsplit(".", 1)[-1]
    return f"rows in {FAILURES_TABLE} where test_name = '{name}'"


def dbt_executable() -> str:
    """The ``dbt`` installed with this Python (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.is_file() else shutil.which("dbt")
    if not found:
        raise MartsError("dbt is not installed in this environment; run `make venv` or pass --skip-dbt")
    return found


def environment_without_secrets() -> dict[str, str]:
    """Our environment minus the pipeline's settings: what child processes (dbt, a notebook kernel) get."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_SECRET_PREFIXES)}


def _dbt_env(request: MartsRequest) -> dict[str, str]:
    env = environment_without_secrets()
    env["SAGE_DATASET"] = request.dataset
    env["DBT_TARGET"] = request.target
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    if request.duckdb_path:
        env["SAGE_DUCKDB_PATH"] = request.duckdb_path
        env.setdefault("SAGE_DUCKDB_MEMORY_LIMIT", _duckdb_memory_limit())
    env.update(request.profile_env)
    return env


def _default_threads(target: str) -> int:
    """One dbt thread on DuckDB, two elsewhere. DuckDB already spreads each query over every core, so two
    nodes at once only compete for the cores and the memory limit: at 1 M invoices a full build took
    193 s on two threads and 143 s on one, an unchanged incremental one 126 s and 109 s (dbt build on a
    copy of benchmarks/marts_build.py's warehouse, one after the other); on 2,000 invoices neither wins
    (20-24 s both). PostgreSQL runs each query on one backend, so a second thread there is a second core
    at work."""
    return 1 if target == "duckdb" else 2


def _duckdb_memory_limit() -> str:
    """``DUCKDB_BUILD_MEMORY_MB``, or 80% of this machine's memory if that is less."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system: DuckDB's own default
        return "80%"
    return f"{min(DUCKDB_BUILD_MEMORY_MB, int(total * 0.8) // 2**20)}MB"


def _read_results(path: Path) -> list[dict[str, object]] | None:
    try:
        results: list[dict[str, object]] = json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return None
    return results


def _describe(result: dict[str, object]) -> str:
    node = str(result.get("unique_id", "?")).split(".", 2)
    kind, name = node[0], node[-1]
    message = str(result.get("message") or "").strip().splitlines()
    return f"{kind} {name}: {message[0] if message else result.get('status')}"


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["dbt exited without output"])[-1]
