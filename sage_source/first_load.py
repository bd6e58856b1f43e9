"""Which lists a first load may append: those whose tables hold no row of the businesses it loads.

Appending a business's first load is about twice as fast at the destination as merging it (the
rows are copied once, not into a staging table and again), and lands the same rows, provided
none of its keys is there yet. dlt's local state cannot vouch for that: another pipeline name
or pipelines folder may have loaded the dataset, or a crash may have cost the state. So the
destination itself is asked, once per run, before anything is read from Sage. Whatever cannot
be asked (no active pipeline, a destination without SQL, an error) merges: merging is never
wrong, only slower.

A package that was cut off half-way and is loaded again is the runner's part
(``pipelines.pending``); a duplicate that slips through anyway is found after the load
(``pipelines.integrity``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, cast

import dlt
from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext
from dlt.destinations.impl.filesystem.sql_client import FilesystemSqlClient
from dlt.destinations.sql_client import SqlClientBase

from sage_source.backfill import BACKFILL
from sage_source.settings import Endpoint
from sage_source.tables import BUSINESS_ID, child_table
from sage_source.watermarks import Cursor

log = logging.getLogger("sage_source")


def tables_of(endpoint: Endpoint) -> list[str]:
    """The endpoint's table and its child tables."""
    return [endpoint.name, *(child_table(endpoint.name, child) for child in endpoint.children)]


def businesses_held(endpoints: Iterable[Endpoint]) -> Mapping[str, frozenset[str]] | None:
    """The business ids the destination holds rows of, per endpoint (its table or a child table).

    None when the destination cannot be asked: then no list may be appended."""
    wanted = {endpoint.name: tables_of(endpoint) for endpoint in endpoints}
    if not wanted:
        return {}
    container = Container()
    if not container[PipelineContext].is_active():
        return None
    pipeline = cast(dlt.Pipeline, container[PipelineContext].pipeline())
    try:
        with pipeline.sql_client() as sql:
            if isinstance(sql, FilesystemSqlClient):
                return None  # views over files, made once queried: it cannot list what it holds
            if not sql.has_dataset():
                return {name: frozenset() for name in wanted}
            present = _tables(sql)
            held: dict[str, frozenset[str]] = {}
            for name, tables in wanted.items():
                found: set[str] = set()
                for table in tables:
                    if table in present:
                        query = f"SELECT DISTINCT {BUSINESS_ID} FROM {sql.make_qualified_table_name(table)}"
                        found.update(str(row[0]) for row in sql.execute_sql(query) or [])
                held[name] = frozenset(found)
            return held
    except Exception as error:  # any failure here only costs the append's speed
        log.info("cannot tell which businesses the destination holds (%s): merging every list", error)
        return None


def _tables(sql: SqlClientBase[Any]) -> set[str]:
    """Tables of the dataset, by the names dlt gives them."""
    rows = sql.execute_sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", sql.dataset_name
    )
    return {str(row[0]) for row in rows or []}


def appendable(
    endpoints: Iterable[Endpoint], business_ids: Iterable[str], full_refresh: bool
) -> frozenset[str]:
    """The endpoints whose first load may append: no business of this run has been loaded by this
    pipeline (its dlt state) nor is held by the destination (whoever loaded it)."""
    if full_refresh:
        return frozenset()
    wanted = set(business_ids)
    states = _resource_states()
    fresh = [e for e in endpoints if not any(_loaded(states.get(e.name, {}).get(b, {})) for b in wanted)]
    held = businesses_held(fresh)
    if held is None:
        return frozenset()
    return frozenset(e.name for e in fresh if not held.get(e.name, frozenset()) & wanted)


def _loaded(slot: Mapping[str, Any]) -> bool:
    """This pipeline may have loaded rows of the business × resource: a read finished, or a first
    load in windows began (each window lands on its own: :mod:`sage_source.backfill`). Saves
    asking the destination on every pass of a backfill."""
    return Cursor(dict(slot)).synced or BACKFILL in slot


def _resource_states() -> Mapping[str, Any]:
    """This pipeline's resource states (read-only here), or none outside a pipeline."""
    try:
        states: Mapping[str, Any] = dlt.current.source_state().get("resources", {})
    except Exception:  # no pipeline or source context: nothing was loaded by it
        return {}
    return states
