"""Load packages a killed run left behind: finished first, and never appended twice.

A run killed after its extract leaves its rows in dlt's pipeline folder (a load package) with
its watermarks already moved, so the next run must load that package before anything else, or
those rows are lost. dlt does so, but ``pipeline.run(source)`` then returns without reading the
source at all; the runner calls :func:`finish_pending` first, so one run does both.

Loading a package again is idempotent for merged tables (dlt deduplicates its staging rows by
primary key) but not for appended ones (a business's first load, :mod:`sage_source.first_load`).
A job whose rows the destination committed just before the kill, before dlt recorded it as
done, would be appended a second time. So before a package is loaded again, each table it
appends is rewound: its rows of that package (``_dlt_load_id``) are deleted, and every job of
that table goes back to the queue, to be appended once, whole.
"""

from __future__ import annotations

import contextlib
import logging

import dlt
from dlt.common.storages.load_package import PackageStorage, ParsedLoadJobFileName
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from pipelines.destinations import sql_client
from sage_source.tables import LOAD_ID

log = logging.getLogger("sage_pipeline")

_DONE_OR_RUNNING = (PackageStorage.COMPLETED_JOBS_FOLDER, PackageStorage.STARTED_JOBS_FOLDER)


def finish_pending(pipeline: dlt.Pipeline) -> list[str]:
    """Load what an earlier run extracted but did not load; the ids of the packages loaded."""
    if not pipeline.has_pending_data:
        return []
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    load_ids = list(pipeline.list_normalized_load_packages())
    for load_id in load_ids:
        rewound = rewind_appends(pipeline, load_id)
        if rewound:
            log.info("package %s was cut off while appending to %s: loading them again", load_id, rewound)
    log.warning("loading %d package(s) an earlier run left unloaded", len(load_ids))
    pipeline.load()
    return load_ids


def rewind_appends(pipeline: dlt.Pipeline, load_id: str) -> list[str]:
    """Undo what an interrupted package appended, so that loading it again appends it once."""
    packages = pipeline._get_load_storage().normalized_packages  # dlt has no public way to it
    schema = packages.load_schema(load_id)
    jobs = packages.list_all_jobs_with_states(load_id)
    appended = sorted(
        {
            job.table_name
            for state, job in jobs
            if state in _DONE_OR_RUNNING
            and not job.table_name.startswith("_dlt")  # dlt's own state rows: read by version, harmless
            and schema.get_table(job.table_name).get("write_disposition") == "append"
        }
    )
    if not appended:
        return []
    with sql_client(pipeline) as sql:
        for table in appended:
            # A table never created holds nothing of the package.
            with contextlib.suppress(DatabaseUndefinedRelation):
                sql.execute_sql(
                    f"DELETE FROM {sql.make_qualified_table_name(table)} WHERE {LOAD_ID} = %s", load_id
                )
    for state, job in jobs:
        if job.table_name in appended and state in _DONE_OR_RUNNING:
            _requeue(packages, load_id, state, job)
    return appended


def _requeue(packages: PackageStorage, load_id: str, state: str, job: ParsedLoadJobFileName) -> None:
    name = job.file_name()
    packages.clear_pending_transition(load_id, name)  # "committed": it is being undone
    packages.storage.atomic_rename(
        packages.get_job_file_path(load_id, state, name),  # type: ignore[arg-type]
        packages.get_job_file_path(load_id, PackageStorage.NEW_JOBS_FOLDER, name),
    )
