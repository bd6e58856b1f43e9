"""One page of a Sage list, as Arrow tables ready for dlt: the rows and their child tables.

Fast path: Arrow's JSON reader parses the whole page in C++ against an explicit schema (the page
is one JSON document whose ``$items`` is a list of structs), so no Python object is made per row.
Value objects are flattened into ``parent__child`` columns; lists named as children become child
tables; other lists stay as JSON columns. Money, dates and timestamps are cast exactly.

Child tables carry ``business_id``, ``parent_id`` (the Sage id of the row they belong to) and
``_dlt_list_idx``. They are merged on ``(business_id, parent_id)``, so a reloaded parent replaces
all of its children; a parent whose list is now empty gets one marker row flagged for deletion,
which makes the load delete its old children and insert nothing.

If Sage ever sends a number where its spec says string (money as a JSON number), the page is
parsed again in Python with numbers kept as their literal digits, never as floats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from sage_source.errors import SageDataError
from sage_source.models import Cast, Field, casts, fields_of, struct_of

REPLACED = "_sage_replaced"  # marker rows: "this parent's children were replaced by none"
_READ_OPTIONS = pj.ReadOptions(block_size=64 << 20, use_threads=False)


@dataclass(frozen=True)
class Page:
    total: int
    page: int
    next: str | None
    items: pa.Table  # one row per item, columns as read (structs not yet flattened)


class PageReader:
    """Reads pages of one endpoint and turns their items into dlt-ready tables."""

    def __init__(
        self, endpoint: str, children: tuple[str, ...] = (), fields: dict[str, Field] | None = None
    ) -> None:
        self.endpoint = endpoint
        self.fields = fields if fields is not None else fields_of(endpoint)
        self.children = children
        self.item_type = struct_of(self.fields)
        self.schema = pa.schema(
            [
                ("$total", pa.int64()),
                ("$page", pa.int64()),
                ("$next", pa.string()),
                ("$items", pa.list_(self.item_type)),
            ]
        )
        self._parse = pj.ParseOptions(
            explicit_schema=self.schema, unexpected_field_behavior="ignore", newlines_in_values=True
        )
        self.parent_casts = casts({k: v for k, v in self.fields.items() if k not in children})
        self.child_casts = {name: casts(_item_fields(self.fields[name])) for name in children}

    # -- reading ------------------------------------------------------------------------------

    def read(self, body: bytes) -> Page:
        try:
            table = pj.read_json(pa.py_buffer(body), read_options=_READ_OPTIONS, parse_options=self._parse)
        except pa.ArrowInvalid as exc:
            if "changed from string to number" not in str(exc):
                raise SageDataError(
                    f"{self.endpoint}: the page is not valid JSON of the expected shape ({exc})"
                ) from exc
            table = self._read_numbers_as_text(body)
        if table.num_rows != 1:
            raise SageDataError(f"{self.endpoint}: expected one JSON object per page, got {table.num_rows}")
        items = table.column("$items").combine_chunks()
        rows = pc.list_flatten(items) if len(items) else pa.array([], self.item_type)
        total = table.column("$total")[0].as_py()
        return Page(
            total=total if total is not None else len(rows),
            page=table.column("$page")[0].as_py() or 1,
            next=table.column("$next")[0].as_py(),
            items=pa.Table.from_struct_array(rows),
        )

    def _read_numbers_as_text(self, body: bytes) -> pa.Table:
        """The slow path: JSON numbers in text/decimal fields become their literal digits."""
        document = json.loads(body, parse_float=str)
        document["$items"] = [_texts(item, self.fields) for item in document.get("$items") or []]
        return pa.Table.from_pylist([document], schema=self.schema)

    # -- shaping ------------------------------------------------------------------------------

    def tables(self, items: pa.Table, business_id: str, replaces: bool = True) -> dict[str, pa.Table]:
        """The parent table (``endpoint``) and one table per child list (``endpoint__child``).

        ``replaces``: the rows may already be loaded (an incremental run), so parents whose lists
        are now empty get a marker that deletes their old children. A business's first load
        has nothing to replace and skips them (at a million invoices, millions of markers).
        """
        out: dict[str, pa.Table] = {}
        ids = items.column("id") if self.children else None
        for name in self.children:
            out[f"{self.endpoint}__{name}"] = self._child(
                items.column(name), ids, business_id, name, replaces
            )
        parent = items.drop_columns(list(self.children))
        parent = _flatten(parent)
        parent = _apply_casts(parent, self.parent_casts, self.endpoint)
        parent = parent.append_column("business_id", pa.array([business_id] * len(parent), pa.string()))
        out[self.endpoint] = parent
        return out

    def _child(
        self,
        column: pa.ChunkedArray,
        ids: pa.ChunkedArray | None,
        business_id: str,
        name: str,
        replaces: bool,
    ) -> pa.Table:
        assert ids is not None
        lists = column.combine_chunks()
        values = pc.list_flatten(lists)
        if pa.types.is_struct(values.type):
            table = pa.Table.from_struct_array(values)
        else:
            table = pa.table({"value": values})
        table = _apply_casts(_flatten(table), self.child_casts[name], f"{self.endpoint}.{name}")
        parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        offsets = lists.offsets.to_numpy()
        positions = np.arange(len(parents)) - offsets[parents]
        id_array = ids.combine_chunks()
        table = (
            table.append_column("business_id", pa.array([business_id] * len(table), pa.string()))
            .append_column("parent_id", id_array.take(pa.array(parents, pa.int64())))
            .append_column("_dlt_list_idx", pa.array(positions, pa.int64()))
            .append_column(REPLACED, pa.array([False] * len(table), pa.bool_()))
        )
        if not replaces:
            return table
        # Parents whose list is empty (or absent) now: one marker each, so their old children go.
        lengths = pc.fill_null(pc.list_value_length(lists), 0)
        emptied = id_array.filter(pc.equal(lengths, 0))
        if len(emptied):
            markers = pa.table(
                {
                    "business_id": pa.array([business_id] * len(emptied), pa.string()),
                    "parent_id": emptied,
                    "_dlt_list_idx": pa.array([-1] * len(emptied), pa.int64()),
                    REPLACED: pa.array([True] * len(emptied), pa.bool_()),
                }
            )
            table = pa.concat_tables([table, markers], promote_options="default")
        return table


def _item_fields(field: Field) -> dict[str, Field]:
    item = field["list"]
    if isinstance(item, dict) and "object" in item:
        fields: dict[str, Field] = item["object"]
        return fields
    if item == "ref":
        return {"id": "text", "displayed_as": "text"}
    return {"value": item}


def _flatten(table: pa.Table) -> pa.Table:
    """Objects become ``object__field`` columns (recursively); lists stay as they are."""
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    return table.rename_columns([name.replace(".", "__") for name in table.column_names])


def _apply_casts(table: pa.Table, plan: list[Cast], where: str) -> pa.Table:
    """Cast read columns to their final types; the table is rebuilt once, not per column."""
    columns = dict(zip(table.column_names, table.columns, strict=True))
    for cast in plan:
        column = columns.get(cast.column)
        if column is None:
            continue
        if column.null_count == len(column):
            columns[cast.column] = pa.nulls(len(column), cast.to)
            continue
        if cast.kind != "decimal":  # Sage sends "" for some unset dates
            blank = pc.equal(column, "")
            if pc.any(blank).as_py():
                column = pc.if_else(blank, pa.scalar(None, pa.string()), column)
        try:
            columns[cast.column] = pc.cast(column, cast.to)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SageDataError(f"{where}.{cast.column}: a value is not a valid {cast.kind} ({exc})") from exc
    return pa.table(columns)


def _texts(value: Any, field: Field) -> Any:
    """Make numbers that the model says are text/decimal/date into their literal strings."""
    if value is None:
        return None
    if isinstance(field, str):
        if field in ("text", "decimal", "date", "timestamp") and isinstance(value, int | float | str):
            return value if isinstance(value, str) else str(value)
        if field == "ref" and isinstance(value, dict):
            return {k: _texts(value.get(k), "text") for k in ("id", "displayed_as")}
        return value
    if "object" in field and isinstance(value, dict):
        return {k: _texts(value.get(k), sub) for k, sub in field["object"].items()}
    if "list" in field and isinstance(value, list):
        return [_texts(v, field["list"]) for v in value]
    return value
