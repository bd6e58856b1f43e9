"""Deleted rows: recorded by the source, marked in the warehouse after each load.

Sage tells about deletions in three ways, and the source records each as rows dlt loads:

* a delete feed (``deleted_since``) on most lists → tombstones in ``sage_deletions``
  (``business_id``, ``resource``, ``id``, ``deleted_at``);
* a ``deleted`` flag on transactions and ledger entries, which stay listed → ``is_deleted`` is
  set from it while the rows are read;
* nothing at all (ledger accounts, tax rates, the reference lists) → an id sweep: the ids Sage
  lists now, in ``sage_id_sweeps`` (one header row per sweep, ``id`` ``""``, dates it).

A merge cannot mark a row it is not given, so :func:`apply_deletions` runs after the load and
sets ``is_deleted``/``deleted_at`` on rows with a tombstone, and on rows a sweep no longer lists
that were loaded before that sweep began. It is idempotent: a failed or skipped call is made
good by the next. With ``hard_delete`` the marked rows (and their child rows) are deleted.
The SQL is plain (``UPDATE ... WHERE EXISTS``) so it runs on any SQL destination dlt supports.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema import Schema
from dlt.common.schema.utils import has_table_seen_data

from sage_source.models import TIMESTAMP, keys_required
from sage_source.settings import ENDPOINT_NAMES, MERGE
from sage_source.tables import (
    BUSINESS_ID,
    DELETED_AT,
    DELETIONS_TABLE,
    ID,
    IS_DELETED,
    PARENT_ID,
    RECORD_KEY,
    RESOURCE,
    SWEEPS_TABLE,
    SWEPT_AT,
    SYNCED_AT,
    is_child_table,
)

log = logging.getLogger("sage_source")

DELETIONS_HINTS = dlt.mark.make_hints(
    table_name=DELETIONS_TABLE, write_disposition=MERGE, primary_key=RECORD_KEY
)
# One row per business × resource × id, re-dated by each sweep that lists it; the header row of a
# sweep has the id "" (never a Sage id) and dates the newest sweep. Rows of ids a newer sweep no
# longer lists are pruned by ``apply_deletions``. (A merge key on ``business_id, resource`` would
# replace a sweep whole, but beside the primary key dlt joins the two with OR, which no database
# can hash: a second full refresh took minutes.)
SWEEPS_HINTS = dlt.mark.make_hints(
    table_name=SWEEPS_TABLE,
    write_disposition=MERGE,
    primary_key=RECORD_KEY,
    # ``merge_key`` False: datasets loaded before kept the old hint in their schema.
    columns={
        BUSINESS_ID: {"merge_key": False},
        RESOURCE: {"merge_key": False},
        SWEPT_AT: {"dedup_sort": "desc"},
    },
)
HEADER_ID = ""


def tombstones(business_id: str, resource: str, ids: pa.Array, deleted_at: pa.Array) -> pa.Table:
    """Rows of ``sage_deletions``: what the delete feed said went, and when."""
    table = pa.table(
        {
            BUSINESS_ID: pa.array([business_id] * len(ids), pa.string()),
            RESOURCE: pa.array([resource] * len(ids), pa.string()),
            ID: ids,
            DELETED_AT: deleted_at.cast(TIMESTAMP),
        }
    )
    return keys_required(table)


def sweep(business_id: str, resource: str, ids: list[pa.Array], swept_at: datetime) -> pa.Table:
    """Rows of ``sage_id_sweeps``: the ids a listing found, plus the header row that dates it."""
    found = pc.unique(pa.chunked_array(ids, pa.string())) if ids else pa.array([], pa.string())
    listed = pa.concat_arrays([pa.array([HEADER_ID], pa.string()), found])
    table = pa.table(
        {
            BUSINESS_ID: pa.array([business_id] * len(listed), pa.string()),
            RESOURCE: pa.array([resource] * len(listed), pa.string()),
            ID: listed,
            SWEPT_AT: pa.array([swept_at] * len(listed), TIMESTAMP),
        }
    )
    return keys_required(table)


def apply_deletions(pipeline: dlt.Pipeline, hard_delete: bool = False) -> None:
    """Mark (or with ``hard_delete`` remove) the rows Sage deleted. Call after ``pipeline.run``."""
    if not _parents(loaded_tables(pipeline.default_schema)):
        return
    with pipeline.sql_client() as sql:
        mark_deletions(sql, pipeline.default_schema, hard_delete)


class Statements(Protocol):
    """What :func:`mark_deletions` needs of a SQL client (dlt's have it)."""

    def make_qualified_table_name(self, table_name: str, quote: bool = True) -> str: ...

    def execute_sql(self, sql: str, *args: Any) -> Sequence[Sequence[Any]] | None: ...


def mark_deletions(sql: Statements, schema: Schema, hard_delete: bool = False) -> None:
    """The statements of :func:`apply_deletions`, on an open SQL client: dlt's, or any with its
    ``execute_sql`` and ``make_qualified_table_name`` (``pipelines.lakehouse`` for Delta files)."""
    tables = loaded_tables(schema)
    parents = _parents(tables)
    if not parents:
        return
    q = sql.make_qualified_table_name
    resources_with = {
        table: {row[0] for row in sql.execute_sql(f"SELECT DISTINCT {RESOURCE} FROM {q(table)}") or []}
        for table in (DELETIONS_TABLE, SWEEPS_TABLE)
        if table in tables
    }
    for name in parents:
        target = q(name)
        if name in resources_with.get(DELETIONS_TABLE, ()):
            sql.execute_sql(_mark_tombstoned(target, q(DELETIONS_TABLE), name))
        if name in resources_with.get(SWEEPS_TABLE, ()):
            sql.execute_sql(_prune_swept(q(SWEEPS_TABLE), name))
            sql.execute_sql(_mark_swept(target, q(SWEEPS_TABLE), name))
        if hard_delete:
            for child in _children(name, tables):
                sql.execute_sql(_delete_children(q(child), target))
            sql.execute_sql(f"DELETE FROM {target} WHERE {IS_DELETED}")
    log.info("deletions applied to %d tables%s", len(parents), " (hard delete)" if hard_delete else "")


def loaded_tables(schema: Schema) -> dict[str, Any]:
    """The schema's tables that exist in the warehouse (dlt creates tables when they first receive data)."""
    return {name: table for name, table in schema.tables.items() if has_table_seen_data(table)}


def _parents(tables: dict[str, Any]) -> list[str]:
    """The endpoints' tables that can be marked (they have ``is_deleted``)."""
    return [name for name in ENDPOINT_NAMES if name in tables and IS_DELETED in tables[name]["columns"]]


def _children(name: str, tables: dict[str, Any]) -> list[str]:
    return [t for t in tables if is_child_table(t, name)]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _delete_children(child: str, parent: str) -> str:
    """The child rows of parent rows marked deleted (before those go)."""
    return (
        f"DELETE FROM {child} WHERE EXISTS (SELECT 1 FROM {parent} p WHERE p.{IS_DELETED} "
        f"AND p.{BUSINESS_ID} = {child}.{BUSINESS_ID} AND p.{ID} = {child}.{PARENT_ID})"
    )


def _mark_tombstoned(target: str, deletions: str, resource: str) -> str:
    match = (
        f"d.{RESOURCE} = {_literal(resource)} AND d.{BUSINESS_ID} = {target}.{BUSINESS_ID} "
        f"AND d.{ID} = {target}.{ID}"
    )
    return (
        f"UPDATE {target} SET {IS_DELETED} = TRUE, "
        f"{DELETED_AT} = (SELECT MAX(d.{DELETED_AT}) FROM {deletions} d WHERE {match}) "
        f"WHERE NOT COALESCE({IS_DELETED}, FALSE) AND EXISTS (SELECT 1 FROM {deletions} d WHERE {match})"
    )


def _prune_swept(sweeps: str, resource: str) -> str:
    """Ids only an older sweep listed (each sweep re-dates the ids it lists): the newest counts."""
    header = (
        f"h.{BUSINESS_ID} = {sweeps}.{BUSINESS_ID} AND h.{RESOURCE} = {sweeps}.{RESOURCE} "
        f"AND h.{ID} = {_literal(HEADER_ID)}"
    )
    return (
        f"DELETE FROM {sweeps} WHERE {RESOURCE} = {_literal(resource)} AND {ID} <> {_literal(HEADER_ID)} "
        f"AND {SWEPT_AT} < (SELECT MAX(h.{SWEPT_AT}) FROM {sweeps} h WHERE {header})"
    )


def _mark_swept(target: str, sweeps: str, resource: str) -> str:
    """Rows loaded before a sweep began that the sweep no longer lists are gone from Sage."""
    header = (
        f"h.{RESOURCE} = {_literal(resource)} AND h.{BUSINESS_ID} = {target}.{BUSINESS_ID} "
        f"AND h.{ID} = {_literal(HEADER_ID)} AND {target}.{SYNCED_AT} < h.{SWEPT_AT}"
    )
    listed = (
        f"s.{RESOURCE} = {_literal(resource)} AND s.{BUSINESS_ID} = {target}.{BUSINESS_ID} "
        f"AND s.{ID} = {target}.{ID}"
    )
    return (
        f"UPDATE {target} SET {IS_DELETED} = TRUE, "
        f"{DELETED_AT} = (SELECT MAX(h.{SWEPT_AT}) FROM {sweeps} h WHERE {header}) "
        f"WHERE NOT COALESCE({IS_DELETED}, FALSE) "
        f"AND EXISTS (SELECT 1 FROM {sweeps} h WHERE {header}) "
        f"AND NOT EXISTS (SELECT 1 FROM {sweeps} s WHERE {listed})"
    )
