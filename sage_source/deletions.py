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
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema.utils import has_table_seen_data

from sage_source.models import TIMESTAMP, keys_required
from sage_source.settings import DELETIONS_TABLE, ENDPOINT_NAMES, MERGE, SWEEPS_TABLE

log = logging.getLogger("sage_source")

DELETIONS_HINTS = dlt.mark.make_hints(
    table_name=DELETIONS_TABLE, write_disposition=MERGE, primary_key=("business_id", "resource", "id")
)
# One row per business × resource × id, re-dated by each sweep that lists it; the header row of a
# sweep has the id "" (never a Sage id) and dates the newest sweep. Rows of ids a newer sweep no
# longer lists are pruned by ``apply_deletions``. (A merge key on ``business_id, resource`` would
# replace a sweep whole, but beside the primary key dlt joins the two with OR, which no database
# can hash: a second full refresh took minutes.)
SWEEPS_HINTS = dlt.mark.make_hints(
    table_name=SWEEPS_TABLE,
    write_disposition=MERGE,
    primary_key=("business_id", "resource", "id"),
    # ``merge_key`` False: datasets loaded before kept the old hint in their schema.
    columns={
        "business_id": {"merge_key": False},
        "resource": {"merge_key": False},
        "swept_at": {"dedup_sort": "desc"},
    },
)
HEADER_ID = ""


def tombstones(business_id: str, resource: str, ids: pa.Array, deleted_at: pa.Array) -> pa.Table:
    """Rows of ``sage_deletions``: what the delete feed said went, and when."""
    table = pa.table(
        {
            "business_id": pa.array([business_id] * len(ids), pa.string()),
            "resource": pa.array([resource] * len(ids), pa.string()),
            "id": ids,
            "deleted_at": deleted_at.cast(TIMESTAMP),
        }
    )
    return keys_required(table)


def sweep(business_id: str, resource: str, ids: list[pa.Array], swept_at: datetime) -> pa.Table:
    """Rows of ``sage_id_sweeps``: the ids a listing found, plus the header row that dates it."""
    found = pc.unique(pa.chunked_array(ids, pa.string())) if ids else pa.array([], pa.string())
    listed = pa.concat_arrays([pa.array([HEADER_ID], pa.string()), found])
    table = pa.table(
        {
            "business_id": pa.array([business_id] * len(listed), pa.string()),
            "resource": pa.array([resource] * len(listed), pa.string()),
            "id": listed,
            "swept_at": pa.array([swept_at] * len(listed), TIMESTAMP),
        }
    )
    return keys_required(table)


def apply_deletions(pipeline: dlt.Pipeline, hard_delete: bool = False) -> None:
    """Mark (or with ``hard_delete`` remove) the rows Sage deleted. Call after ``pipeline.run``."""
    schema = pipeline.default_schema
    tables = schema.tables
    parents = [
        name for name in ENDPOINT_NAMES if _loaded(name, tables) and "is_deleted" in tables[name]["columns"]
    ]
    if not parents:
        return
    with pipeline.sql_client() as sql:
        q = sql.make_qualified_table_name
        resources_with = {
            table: {row[0] for row in sql.execute_sql(f"SELECT DISTINCT resource FROM {q(table)}") or []}
            for table in (DELETIONS_TABLE, SWEEPS_TABLE)
            if _loaded(table, tables)
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
                    sql.execute_sql(
                        f"DELETE FROM {q(child)} WHERE EXISTS (SELECT 1 FROM {target} p WHERE p.is_deleted "
                        f"AND p.business_id = {q(child)}.business_id AND p.id = {q(child)}.parent_id)"
                    )
                sql.execute_sql(f"DELETE FROM {target} WHERE is_deleted")
    log.info("deletions applied to %d tables%s", len(parents), " (hard delete)" if hard_delete else "")


def _loaded(table: str, tables: dict[str, Any]) -> bool:
    """The table exists in the warehouse (dlt creates tables when they first receive data)."""
    return table in tables and has_table_seen_data(tables[table])


def _children(name: str, tables: dict[str, Any]) -> list[str]:
    return [t for t in tables if t.startswith(f"{name}__") and _loaded(t, tables)]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mark_tombstoned(target: str, deletions: str, resource: str) -> str:
    match = (
        f"d.resource = {_literal(resource)} AND d.business_id = {target}.business_id AND d.id = {target}.id"
    )
    return (
        f"UPDATE {target} SET is_deleted = TRUE, "
        f"deleted_at = (SELECT MAX(d.deleted_at) FROM {deletions} d WHERE {match}) "
        f"WHERE NOT COALESCE(is_deleted, FALSE) AND EXISTS (SELECT 1 FROM {deletions} d WHERE {match})"
    )


def _prune_swept(sweeps: str, resource: str) -> str:
    """Ids only an older sweep listed (each sweep re-dates the ids it lists): the newest counts."""
    header = (
        f"h.business_id = {sweeps}.business_id AND h.resource = {sweeps}.resource "
        f"AND h.id = {_literal(HEADER_ID)}"
    )
    return (
        f"DELETE FROM {sweeps} WHERE resource = {_literal(resource)} AND id <> {_literal(HEADER_ID)} "
        f"AND swept_at < (SELECT MAX(h.swept_at) FROM {sweeps} h WHERE {header})"
    )


def _mark_swept(target: str, sweeps: str, resource: str) -> str:
    """Rows loaded before a sweep began that the sweep no longer lists are gone from Sage."""
    header = (
        f"h.resource = {_literal(resource)} AND h.business_id = {target}.business_id "
        f"AND h.id = {_literal(HEADER_ID)} AND {target}._sage_synced_at < h.swept_at"
    )
    listed = (
        f"s.resource = {_literal(resource)} AND s.business_id = {target}.business_id AND s.id = {target}.id"
    )
    return (
        f"UPDATE {target} SET is_deleted = TRUE, "
        f"deleted_at = (SELECT MAX(h.swept_at) FROM {sweeps} h WHERE {header}) "
        f"WHERE NOT COALESCE(is_deleted, FALSE) "
        f"AND EXISTS (SELECT 1 FROM {sweeps} h WHERE {header}) "
        f"AND NOT EXISTS (SELECT 1 FROM {sweeps} s WHERE {listed})"
    )
