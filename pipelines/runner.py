"""One scheduled run: lock, extract from Sage, load, mark deletions, report.

* A run lock (``filelock``, beside dlt's pipeline folder) keeps two runs of the same pipeline
  from interleaving; the second one gets :class:`RunLocked` and leaves everything untouched. A
  DuckDB file has a second lock beside it, per dataset, which any pipeline name or folder takes.
* What a killed run extracted but did not load is loaded first (:mod:`pipelines.pending`), and
  after the load no key may be in the dataset twice (:mod:`pipelines.integrity`, exit 5).
* DuckDB is the default destination (a file path may be given); any other dlt destination is
  chosen by name and configured the dlt way (``DESTINATION__<NAME>__CREDENTIALS``, ...).
* Deletions are applied after the load (:func:`sage_source.apply_deletions`).
* Then, when asked, ``dbt build`` makes the marts (:mod:`pipelines.marts`), still under the lock.
* A first load in windows (:mod:`sage_source.backfill`) is loaded pass after pass, one window per
  business × resource each, every pass's package loaded, committed and checked before the next
  is read: a killed first load resumes at its next window.
* What happened to each business × resource (loaded, skipped, failed: :mod:`sage_source.outcomes`)
  is read back from the dataset for the report: one that failed, or (``strict``) was skipped, makes
  the run's exit code 4 once everything else has loaded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration.container import Container
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.destination import Destination, DestinationReference
from dlt.common.destination.exceptions import UnknownDestinationModule
from dlt.common.pipeline import get_dlt_pipelines_dir
from dlt.common.runtime.collector import LogCollector
from dlt.common.schema import Schema
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from filelock import FileLock, Timeout

from pipelines.destinations import (
    apply_deletions,
    dbt_target,
    destination_type,
    loader_file_format,
    no_marts_reason,
    postgres_profile_env,
    require_extras,
    sql_client,
    table_format,
)
from pipelines.disk import disk_full
from pipelines.integrity import LOAD_ID_SETTING, DuplicateKeysError, duplicate_keys
from pipelines.marts import DBT_PROJECT, MartsReport, MartsRequest, build_marts
from pipelines.pending import finish_pending
from pipelines.settings import pipeline_settings
from pipelines.warehouse_server import check_connection, warehouse_lock
from sage_source import sage_accounting
from sage_source.backfill import unfinished
from sage_source.config import SOURCE_NAME, SagePipelineConfiguration
from sage_source.connections import DEFAULT_CONNECTION
from sage_source.outcomes import FAILED, SKIPPED, Outcome, per_unit
from sage_source.tables import BUSINESS_ID, OUTCOMES_TABLE, RESOURCE, RUN_STARTED_AT

log = logging.getLogger("sage_pipeline")
PIPELINE_NAME = "sage_accounting"


def connection_pipeline_name(connection: str | None) -> str:
    """The pipeline a connection runs by default: its own, so its dlt state, run lock and DuckDB file
    (``<pipeline_name>.duckdb``) are never another connection's. ``default`` keeps the old name."""
    return PIPELINE_NAME if connection in (None, DEFAULT_CONNECTION) else f"{PIPELINE_NAME}_{connection}"


# DuckDB caches up to 80% of RAM while it loads; at a million invoices that is gigabytes for no
# gain (the load is no faster: benchmarks/pipeline_throughput.py). Capped, it spills to disk.
DUCKDB_MEMORY_LIMIT = "512MB"


class RunLocked(Exception):  # noqa: N818 (a state, not a failure)
    """Another run of this pipeline holds the lock."""


class RunSettingsError(ValueError):
    """Run settings that cannot work together (found before anything is read from Sage)."""


@dataclass(frozen=True)
class RunRequest:
    pipeline_name: str = PIPELINE_NAME
    dataset: str = "sage"
    destination: str = "duckdb"
    duckdb_path: str | None = None
    duckdb_memory_limit: str | None = DUCKDB_MEMORY_LIMIT  # None: DuckDB's own (80% of RAM)
    pipelines_dir: str | None = None
    resources: list[str] | None = None
    business_ids: list[str] | None = None
    start_date: str | None = None
    full_refresh: bool = False
    progress: bool = True
    source_options: dict[str, Any] = field(default_factory=dict)  # more source arguments (tests, benchmarks)
    build_marts: bool = False  # run `dbt build` over the load (sage-pipeline run does unless --skip-dbt)
    # Rebuild the incremental marts whole (`dbt build --full-refresh`); full_refresh implies it too:
    # everything read again is everything rebuilt.
    full_refresh_marts: bool = False
    dbt_project_dir: str | None = None  # default: the dbt project installed with us (dbt_models/)
    as_of_date: str | None = None  # the marts' "today" (default: the date the books were read)
    strict: bool | None = None  # a skipped business × resource fails the run (None: the setting)
    connection: str | None = None  # which connection's tokens and settings (None: the setting, "default")
    dbt_unit_tests: bool = False  # also run dbt's unit tests (they check SQL, not data: tests, not runs)


@dataclass(frozen=True)
class RunReport:
    rows: dict[str, int]  # rows loaded per table in this run
    seconds: float
    destination: str
    dataset: str
    pipeline: dlt.Pipeline
    marts: MartsReport | None = None  # None: not asked for, or no dbt profile for the destination
    outcomes: tuple[Outcome, ...] = ()
    strict: bool = False

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def with_outcome(self, outcome: str) -> list[Outcome]:
        return [unit for unit in self.outcomes if unit.outcome == outcome]

    @property
    def incomplete(self) -> list[Outcome]:
        """What makes the run fail (exit 4): failures, and skips when ``strict``."""
        return [u for u in self.outcomes if u.outcome == FAILED or (self.strict and u.outcome == SKIPPED)]


def lock_path(request: RunRequest) -> Path:
    folder = Path(request.pipelines_dir or get_dlt_pipelines_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{request.pipeline_name}.run.lock"


def make_pipeline(request: RunRequest) -> dlt.Pipeline:
    destination: Any = destination_factory(request.destination)
    check_dataset_name(request.dataset, destination)
    if request.destination == "duckdb":
        destination = _duckdb(request)
    options: dict[str, Any] = {}
    if request.progress:  # dlt's log collector: rows per resource and table every few seconds
        options["progress"] = LogCollector(log_period=10, logger=sys.stderr, dump_system_stats=False)
    if request.pipelines_dir:
        options["pipelines_dir"] = request.pipelines_dir
    pipeline: dlt.Pipeline = dlt.pipeline(
        pipeline_name=request.pipeline_name, destination=destination, dataset_name=request.dataset, **options
    )
    return pipeline


# A pipeline name is a folder in the pipelines folder and the stem of its run lock: nothing more.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def check_pipeline_name(name: str) -> None:
    """Refuse a pipeline name that is a path (``../../x`` would put its state and lock elsewhere)."""
    if not _PLAIN_NAME.fullmatch(name) or name in (".", ".."):
        raise RunSettingsError(
            f"the pipeline name {name!r} is not a plain name: use letters, digits, '_', '-' and '.' only "
            f"(e.g. --pipeline-name {PIPELINE_NAME}); --pipelines-dir says where its state goes"
        )


def destination_factory(name: str) -> Destination[Any, Any]:
    """The dlt destination called ``name`` (one of dlt's, or a named one with a destination_type)."""
    try:
        factory = Destination.from_reference(name)
    except UnknownDestinationModule:
        factory = None
    if factory is None:
        known = sorted(
            ref.rsplit(".", 1)[-1]
            for ref in DestinationReference.DESTINATIONS
            if ref.startswith("dlt.destinations.") and not ref.endswith(".destination")
        )
        raise RunSettingsError(
            f"unknown destination {name!r}: dlt's are {', '.join(known)} (or name your own with "
            f"DESTINATION__{name.upper()}__DESTINATION_TYPE)"
        )
    return factory


def check_dataset_name(dataset: str, destination: Destination[Any, Any]) -> None:
    """Refuse a dataset name the destination would change (``Sage-Prod`` becomes ``sage_prod``).

    dlt would load into the changed name while dbt, the summary and the user's queries look for the
    given one; and two names that change alike (``Sage-Prod``, ``sage prod``) would share a dataset.
    The naming is the destination's, as dlt applies it (its convention, or ``schema.naming``)."""
    with Container().injectable_context(destination.capabilities()):
        naming = Schema(PIPELINE_NAME).naming
    try:
        written = naming.normalize_table_identifier(dataset)
    except ValueError:  # empty, or nothing but spaces
        raise RunSettingsError(f"the dataset name {dataset!r} is empty: pass e.g. --dataset sage") from None
    if written != dataset:
        raise RunSettingsError(
            f"dlt would load the dataset {dataset!r} into {written!r} ({destination.destination_name}'s "
            f"naming), where dbt and your queries would not look for it: pass --dataset {written}"
        )


def duckdb_path(explicit: str | None, pipeline_name: str) -> Path | None:
    """The DuckDB file: ``--duckdb``, else ``DESTINATION__DUCKDB__CREDENTIALS``, else dlt's default
    ``<pipeline_name>.duckdb``; None when the credentials are a table for dlt to resolve."""
    configured = explicit or dlt.secrets.get("destination.duckdb.credentials")
    if configured is not None and not isinstance(configured, str):
        return None
    return Path(configured or f"{pipeline_name}.duckdb").expanduser()


def _duckdb(request: RunRequest) -> Any:
    path = duckdb_path(request.duckdb_path, request.pipeline_name)
    if path is None:
        return "duckdb"  # credentials given as a table: dlt resolves them, DuckDB's memory default
    check_duckdb_name(path, request.dataset)
    # A folder that cannot be made is reported by dlt when it opens the file, with the reason.
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    credentials = DuckDbCredentials(str(path))
    if request.duckdb_memory_limit:
        credentials.global_config = {"memory_limit": request.duckdb_memory_limit}
    return dlt.destinations.duckdb(credentials=credentials)


def check_duckdb_name(path: Path, dataset: str) -> None:
    """DuckDB names a database after its file: ``sage.duckdb`` holding a schema ``sage`` makes
    ``sage.<table>`` ambiguous, and every load fails. Refused before anything is read."""
    if path.stem.lower() == dataset.lower():
        raise RunSettingsError(
            f"the DuckDB file {path.name} is named like the dataset {dataset!r}, which DuckDB cannot "
            f"tell apart: name the file otherwise (e.g. --duckdb {path.with_stem(f'{path.stem}_warehouse')}) "
            "or choose another --dataset"
        )


def source_arguments(request: RunRequest) -> dict[str, Any]:
    """What the run asks of the source: only what was given (flags, tests). A setting left out is
    resolved by dlt from the environment and ``.dlt/`` files; passing ``None`` would hide it."""
    given: dict[str, Any] = {
        "resources": request.resources,
        "business_ids": request.business_ids,
        "start_date": request.start_date,
        "full_refresh": request.full_refresh or None,
        "connection_name": request.connection,
    }
    return {**{name: value for name, value in given.items() if value is not None}, **request.source_options}


def run(request: RunRequest) -> RunReport:
    """Extract, load and apply deletions, holding the pipeline's run lock throughout."""
    check_pipeline_name(request.pipeline_name)
    # Settings are read and checked before anything is: a bad one stops the run with nothing done.
    settings = pipeline_settings(**source_arguments(request))
    strict = settings.strict if request.strict is None else request.strict
    with _run_locks(request):
        try:
            return _run(request, settings, strict)
        except Exception as error:
            full = disk_full(error, written_folders(request))
            if full is None:
                raise
            raise full from error


def build_marts_only(request: RunRequest) -> MartsReport | None:
    """``dbt build`` over the dataset, nothing read from Sage, under the same locks as a run (the
    pipeline's, the DuckDB dataset's, PostgreSQL's advisory lock): a scheduler that builds each
    dataset's marts once after several pipelines loaded it (``sage_orchestration``)."""
    check_pipeline_name(request.pipeline_name)
    with _run_locks(request):
        pipeline = make_pipeline(request)
        require_extras(pipeline)
        _check_destination(pipeline)
        with warehouse_lock(pipeline, request.dataset):
            return _build_marts(request, pipeline)


@contextlib.contextmanager
def _run_locks(request: RunRequest) -> Iterator[None]:
    """The pipeline's run lock and, for a DuckDB file, its dataset's (any pipeline name takes it)."""
    with contextlib.ExitStack() as locks:
        locks.enter_context(_locked(lock_path(request), f"another run of pipeline {request.pipeline_name!r}"))
        database = (
            duckdb_path(request.duckdb_path, request.pipeline_name)
            if request.destination == "duckdb"
            else None
        )
        if database is not None and _folder_ready(database):
            database = database.resolve()  # one lock whatever path (or link) names the file
            # (the dataset's name is checked later, with the destination: keep the lock's name plain)
            plain = re.sub(r"[^\w.-]", "_", request.dataset)
            dataset_lock = database.with_name(f"{database.name}.{plain}.lock")
            locks.enter_context(
                _locked(dataset_lock, f"another run into dataset {request.dataset!r} of {database}")
            )
        yield


def _folder_ready(database: Path) -> bool:
    """The DuckDB file's folder exists or was made (if not, opening the file fails, saying why)."""
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path, holder: str) -> Iterator[None]:
    lock = FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunLocked(f"{holder} is in progress") from None
    try:
        yield
    finally:
        lock.release()


def _check_destination(pipeline: dlt.Pipeline) -> None:
    """The destination's settings are all there, and its server lets us in: else the run stops
    here, before Sage is read.

    Making the destination's SQL client resolves its configuration (as dlt would at load time,
    pipeline sections included) without connecting; then a warehouse server is connected to once
    (:func:`pipelines.destinations.check_connection`). A destination without SQL is left for the
    load to report."""
    try:
        client = pipeline.sql_client()
    except ConfigFieldMissingException:
        raise
    except Exception:  # only the missing settings are this check's to report
        return
    check_connection(client, destination_type(pipeline))


def _run(request: RunRequest, settings: SagePipelineConfiguration, strict: bool) -> RunReport:
    started = time.perf_counter()
    began = datetime.now(UTC)  # before the source stamps its outcomes (``run_started_at``)
    pipeline = make_pipeline(request)
    # Every row carries the id of its load package: what lets an interrupted append be undone
    # (``pipelines.pending``) and the keys each load wrote be checked (``pipelines.integrity``).
    dlt.config[LOAD_ID_SETTING] = True
    require_extras(pipeline)
    _check_destination(pipeline)
    with warehouse_lock(pipeline, request.dataset):  # two machines, one PostgreSQL schema
        resumed = finish_pending(pipeline)
        rows = _load(request, settings, pipeline, resumed)
        outcomes = per_unit(read_outcomes(pipeline, since=began))
        apply_deletions(pipeline, hard_delete=settings.hard_delete)
        marts = _build_marts(request, pipeline) if request.build_marts else None
    return RunReport(
        rows=rows,
        seconds=time.perf_counter() - started,
        destination=str(
            pipeline.destination.destination_name if pipeline.destination else request.destination
        ),
        dataset=request.dataset,
        pipeline=pipeline,
        marts=marts,
        outcomes=outcomes,
        strict=strict,
    )


def _load(
    request: RunRequest, settings: SagePipelineConfiguration, pipeline: dlt.Pipeline, resumed: list[str]
) -> dict[str, int]:
    """Extract and load; rows loaded per table.

    Again while a first load in windows is unfinished (:mod:`sage_source.backfill`): each pass
    reads one window per business × resource, and its package is loaded, committed (with the state
    saying which windows are done) and checked for keys held twice before the next is read. Later
    passes ask only for the businesses and resources still in windows, and stop when a pass moved
    none of them on (a window that fails waits for the next run, like any failed list)."""
    formats = {"loader_file_format": loader_file_format(pipeline), "table_format": table_format(pipeline)}
    rows: Counter[str] = Counter()
    arguments = source_arguments(request)
    backfilling = _backfills(pipeline, settings)
    checked = resumed
    while True:
        pipeline.run(sage_accounting(**arguments), **formats)
        trace = pipeline.last_trace
        info = trace.last_load_info if trace else None
        counts = trace.last_normalize_info.row_counts if trace and trace.last_normalize_info else {}
        # Packages a killed run left wrote tables unknown here: every table is checked for them.
        written = None if checked else set(counts)
        duplicates = duplicate_keys(pipeline, [*checked, *(info.loads_ids if info else [])], written)
        if duplicates:
            raise DuplicateKeysError(duplicates)
        checked = []
        rows.update({table: count for table, count in counts.items() if not table.startswith("_dlt")})
        before, backfilling = backfilling, _backfills(pipeline, settings)
        if not backfilling or backfilling == before:
            return dict(rows)
        log.info("%d business × resource(s) loading in windows: the next window of each", len(backfilling))
        arguments = {
            **arguments,
            "resources": sorted({resource for resource, _ in backfilling}),
            "business_ids": sorted({business for _, business in backfilling}),
        }


def _backfills(pipeline: dlt.Pipeline, settings: SagePipelineConfiguration) -> dict[tuple[str, str], int]:
    """The first loads in windows still under way among this run's businesses and resources."""
    resources = set(settings.chosen_resources())
    return {
        (resource, business): done
        for (resource, business), done in unfinished(pipeline.state, SOURCE_NAME).items()
        if resource in resources and (not settings.business_ids or business in settings.business_ids)
    }


def written_folders(request: RunRequest) -> list[Path]:
    """Where a run writes, for naming the full disk when an error names no file: dlt's pipeline
    folder, the DuckDB file's folder and the temporary folder (rows held while a list is read)."""
    folders = [Path(request.pipelines_dir or get_dlt_pipelines_dir())]
    if request.destination == "duckdb":
        with contextlib.suppress(Exception):
            database = duckdb_path(request.duckdb_path, request.pipeline_name)
            if database is not None:
                folders.append(database.resolve().parent)
    return [*folders, Path(tempfile.gettempdir())]


def read_outcomes(pipeline: dlt.Pipeline, since: datetime) -> tuple[Outcome, ...]:
    """This run's rows of ``sage_resource_outcomes``, as loaded (so the report is what landed).

    The run lock keeps other runs of this pipeline out, so the rows stamped since the run began
    are this run's."""
    columns = ", ".join(f.name for f in fields(Outcome))
    with sql_client(pipeline) as sql:
        if not sql.has_dataset():
            return ()
        table = sql.make_qualified_table_name(OUTCOMES_TABLE)
        try:
            rows = sql.execute_sql(
                f"SELECT {columns} FROM {table} WHERE {RUN_STARTED_AT} >= %s "
                f"ORDER BY {BUSINESS_ID}, {RESOURCE}",
                since,
            )
        except DatabaseUndefinedRelation:
            return ()  # no business × resource ran (nothing was asked for)
    return tuple(Outcome(*row) for row in rows or [])


def _build_marts(request: RunRequest, pipeline: dlt.Pipeline) -> MartsReport | None:
    """``dbt build`` over the dataset just loaded, inside the run lock (one writer at a time)."""
    target = dbt_target(pipeline)
    if target is None:
        log.warning("marts not built: %s", no_marts_reason(pipeline))
        return None
    marts = MartsRequest(
        work_dir=Path(pipeline.working_dir) / "dbt",
        dataset=request.dataset,
        duckdb_path=duckdb_file(pipeline) if target == "duckdb" else None,
        target=target,
        profile_env=postgres_profile_env(pipeline) if target == "postgres" else {},
        as_of_date=request.as_of_date,
        project_dir=Path(request.dbt_project_dir) if request.dbt_project_dir else DBT_PROJECT,
        full_refresh=request.full_refresh or request.full_refresh_marts,
        unit_tests=request.dbt_unit_tests,
    )
    return build_marts(marts)


def duckdb_file(pipeline: dlt.Pipeline) -> str | None:
    """The DuckDB database a pipeline loads into, if its destination is DuckDB."""
    try:
        with pipeline.sql_client() as sql:
            rows = sql.execute_sql("SELECT path FROM duckdb_databases() WHERE NOT internal")
    except Exception:
        return None
    paths = [row[0] for row in rows or [] if row[0]]
    return str(Path(paths[0]).resolve()) if paths else None
