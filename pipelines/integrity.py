"""After each load: no key written twice.

Every table the source loads has a primary key (a list's ``business_id, id``; a child table's
``business_id, parent_id, _dlt_list_idx``; the delete, sweep and outcome records theirs). The
load is built never to write one twice (merges; appends only where the destination holds none
of the keys, :mod:`sage_source.first_load`; interrupted appends rewound, :mod:`pipelines.pending`).
This checks it did not, for the keys the run's packages wrote (``_dlt_load_id``), so that a
duplicate is a loud failure (exit 5) the day it happens rather than a wrong figure in a mart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import dlt
from dlt.common.schema.utils import get_columns_names_with_prop, has_table_seen_data
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from pipelines.destinations import sql_client
from sage_source.tables import LOAD_ID

# dlt's extract adds ``_dlt_load_id`` to Arrow rows only when asked; the runner asks.
LOAD_ID_SETTING = "normalize.parquet_normalizer.add_dlt_load_id"


class DuplicateKeysError(Exception):
    """Keys that the warehouse holds more than once after a load."""

    def __init__(self, duplicates: dict[str, int]) -> None:
        self.duplicates = duplicates
        named = ", ".join(f"{table} ({count} key(s))" for table, count in sorted(duplicates.items()))
        super().__init__(
            f"keys loaded twice: {named}. The rows are kept as they are; "
            "`sage-pipeline run --full-refresh` rewrites them once each"
        )


def duplicate_keys(
    pipeline: dlt.Pipeline, load_ids: Sequence[str], tables: Collection[str] | None = None
) -> dict[str, int]:
    """Keys the packages ``load_ids`` wrote that the dataset now holds more than once, per table.

    ``tables``: the only tables those packages wrote rows to, when known (the others cannot hold
    a row of theirs, so are not scanned: a first load in windows checks a pass at a time)."""
    if not load_ids:
        return {}
    found: dict[str, int] = {}
    with sql_client(pipeline) as sql:
        for table, key in _keyed_tables(pipeline):
            if tables is not None and table not in tables:
                continue
            qualified = sql.make_qualified_table_name(table)
            columns = [sql.escape_column_name(column) for column in key]
            listed = ", ".join(columns)
            grouped = ", ".join(f"t.{column}" for column in columns)
            joined = " AND ".join(f"t.{column} = n.{column}" for column in columns)
            marks = ", ".join(["%s"] * len(load_ids))
            written = f"SELECT DISTINCT {listed} FROM {qualified} WHERE {LOAD_ID} IN ({marks})"
            query = (
                f"SELECT count(*) FROM (SELECT {grouped} FROM {qualified} t JOIN ({written}) n ON {joined} "
                f"GROUP BY {grouped} HAVING count(*) > 1) d"
            )
            try:
                rows = sql.execute_sql(query, *load_ids)
            except DatabaseUndefinedRelation:
                continue
            count = int(rows[0][0]) if rows else 0
            if count:
                found[table] = count
    return found


def _keyed_tables(pipeline: dlt.Pipeline) -> Iterable[tuple[str, list[str]]]:
    """Loaded tables with a primary key and the load id column, with their key."""
    for name, table in pipeline.default_schema.tables.items():
        if name.startswith("_dlt") or not has_table_seen_data(table) or LOAD_ID not in table["columns"]:
            continue
        key = get_columns_names_with_prop(table, "primary_key")
        if key:
            yield name, key
