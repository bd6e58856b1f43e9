"""What the run does differently per destination: file and table format, SQL after the load, dbt's profile.

The source yields Arrow tables (:mod:`sage_source.batch`) whose list columns (``links``,
``analysis_type_categories``, …) are nested Arrow types. DuckDB loads them natively from Parquet, the
fastest path, and keeps its own choice. PostgreSQL's native Arrow writer is CSV for ``COPY``, which
cannot hold a nested value, and its Parquet path (ADBC) copies into ``json`` rather than ``jsonb``;
so PostgreSQL is loaded with dlt's ``insert_values`` files: every value goes through dlt's own
escaping, ``Decimal`` stays exact into ``numeric``, lists land as ``jsonb``, instants as ``timestamptz``.

The filesystem destination writes Delta tables (``TABLE_FORMATS``): plain Parquet files there can
only be appended to or replaced, so neither a merge nor a deletion could be applied. What the run
does in SQL after the load goes through :mod:`pipelines.lakehouse` for them (``sql_client``,
``apply_deletions``), and the ``lakehouse`` extra (deltalake) is required before Sage is read.

dbt builds the marts on the database the pipeline loaded, with the profile named after the
destination (``dbt_models/profiles.yml``), connected with the destination's own resolved credentials
(``DESTINATION__POSTGRES__CREDENTIALS`` or ``.dlt/secrets.toml``): the user sets them once. The
password reaches dbt as ``DBT_ENV_SECRET_SAGE_PG_PASSWORD``, a name dbt scrubs from its logs.
"""

from __future__ import annotations

import logging
from typing import Any

import dlt

from pipelines.lakehouse import DeltaSql, apply_deletions_to_files
from pipelines.package import require_extra
from sage_source import apply_deletions as apply_deletions_in_sql

# dlt's loader file format per destination, where dlt's own choice for Arrow items cannot work.
LOADER_FILE_FORMATS = {"postgres": "insert_values"}

# dlt's table format per destination: files that can be merged and deleted from in place.
TABLE_FORMATS = {"filesystem": "delta"}

# dbt profiles the project ships (dbt_models/profiles.yml), by dlt destination.
DBT_TARGETS = {"duckdb": "duckdb", "postgres": "postgres"}

# Why a destination has no dbt profile, for the run's log (any other: none in profiles.yml yet).
NO_MARTS = {
    "filesystem": "dbt builds marts in a database, not in files: query the Delta tables with DuckDB "
    "(README, Load into files), or load DuckDB or PostgreSQL for the marts",
}

PASSWORD_VARIABLE = "DBT_ENV_SECRET_SAGE_PG_PASSWORD"


def destination_type(pipeline: dlt.Pipeline) -> str:
    """dlt's name for the kind of destination (``postgres`` for a named one of that type too)."""
    destination = pipeline.destination
    return str(destination.destination_type.rsplit(".", 1)[-1]) if destination else ""


def loader_file_format(pipeline: dlt.Pipeline) -> Any:
    """The file format to load with; None leaves dlt's choice (DuckDB: Parquet)."""
    chosen = LOADER_FILE_FORMATS.get(destination_type(pipeline))
    if chosen is not None and _CHOSEN not in logging.getLogger("dlt").filters:
        logging.getLogger("dlt").addFilter(_CHOSEN)
    return chosen


def _not_about_the_chosen_writer(record: logging.LogRecord) -> bool:
    """dlt warns, per table and run, that Arrow rows are converted for a non-native writer: that is
    the choice made here, on purpose, so the warning would only be noise in every run's log."""
    return "native writer could not be found" not in record.getMessage()


_CHOSEN = _not_about_the_chosen_writer


def table_format(pipeline: dlt.Pipeline) -> Any:
    """The table format to write (None: the destination's own tables)."""
    return TABLE_FORMATS.get(destination_type(pipeline))


def writes_delta(pipeline: dlt.Pipeline) -> bool:
    return bool(table_format(pipeline) == "delta")


# The package extra a destination needs beyond the base install, and what for.
EXTRAS = {
    "filesystem": ("lakehouse", "Delta tables"),
    "postgres": ("postgres", "its driver and dbt target"),
}


def require_extras(pipeline: dlt.Pipeline) -> None:
    """What the destination needs beyond the base install, checked before Sage is read."""
    kind = destination_type(pipeline)
    if kind in EXTRAS:
        extra, needed_for = EXTRAS[kind]
        require_extra(extra, f"--destination {kind} ({needed_for})")


def sql_client(pipeline: dlt.Pipeline) -> Any:
    """The SQL client the run's checks use (``with sql_client(pipeline) as sql``): dlt's, or for
    Delta tables :class:`pipelines.lakehouse.DeltaSql` (dlt's reads them only with a DuckDB
    extension it downloads, and cannot write them)."""
    return DeltaSql(pipeline) if writes_delta(pipeline) else pipeline.sql_client()


def apply_deletions(pipeline: dlt.Pipeline, hard_delete: bool = False) -> None:
    """After the load, Sage's deletions marked (or made): in SQL (:mod:`sage_source.deletions`), or
    in Delta tables, whose lists are replaced whole first (:mod:`pipelines.lakehouse`)."""
    if writes_delta(pipeline):
        apply_deletions_to_files(pipeline, hard_delete=hard_delete)
    else:
        apply_deletions_in_sql(pipeline, hard_delete=hard_delete)


def dbt_target(pipeline: dlt.Pipeline) -> str | None:
    return DBT_TARGETS.get(destination_type(pipeline))


def no_marts_reason(pipeline: dlt.Pipeline) -> str:
    kind = destination_type(pipeline)
    return NO_MARTS.get(kind, f"no dbt profile for {kind} in dbt_models/profiles.yml")


def postgres_profile_env(pipeline: dlt.Pipeline) -> dict[str, str]:
    """The ``SAGE_PG_*`` variables ``profiles.yml`` reads, from the destination's credentials."""
    credentials = pipeline.sql_client().credentials  # resolved, not connected
    return {
        "SAGE_PG_HOST": str(credentials.host or "localhost"),
        "SAGE_PG_PORT": str(credentials.port or 5432),
        "SAGE_PG_USER": str(credentials.username or ""),
        "SAGE_PG_DATABASE": str(credentials.database or ""),
        "SAGE_PG_SSLMODE": str((credentials.query or {}).get("sslmode", "prefer")),
        PASSWORD_VARIABLE: str(credentials.password or ""),
    }
