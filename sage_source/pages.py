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
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from sage_source.errors import SageDataError
from sage_source.models import Cast, Field, casts, fields_of, struct_of
from sage_source.tables import BUSINESS_ID, ID, LIST_INDEX, PARENT_ID, REPLACED, child_table

_READ_OPTIONS = pj.ReadOptions(block_size=64 << 20, use_threads=False)


@dataclass(frozen=True)
class Page:
    total: int
    page: int
    items: pa.Table  # one row per item, columns as read (structs not yet flattened)
    fast: bool = True  # read by the fast reader (see models.py): fewer casts to do


_NEXT = re.compile(rb'^\s*\{[^{\[]*?"\$next"\s*:\s*(null|"(?:[^"\\]|\\.)*")')
_TOTAL = re.compile(rb'^\s*\{[^{\[]*?"\$total"\s*:\s*(\d+)')


def page_total(body: bytes) -> int | None:
    """A page's ``$total`` (the rows its listing holds), without parsing the page where Sage's
    envelope puts it (among the scalar fields before ``$items``); None if the page has none."""
    found = _TOTAL.match(body)
    if found is not None:
        return int(found.group(1))
    try:
        document = json.loads(body)
    except ValueError:
        return None  # reading the page says what is wrong with it
    total = document.get("$total") if isinstance(document, dict) else None
    return total if isinstance(total, int) else None


def next_link(body: bytes, endpoint: str) -> str | None:
    """A page's ``$next`` without parsing the page.

    Sage's envelope puts ``$next`` among the scalar fields before ``$items``; the pattern only
    accepts it there (before any ``{`` or ``[``), so it cannot be fooled by a value inside an
    item. Any other layout is parsed as JSON.
    """
    found = _NEXT.match(body)
    if found is not None:
        link: str | None = json.loads(found.group(1))
        return link
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise SageDataError(f"{endpoint}: the page is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise SageDataError(f"{endpoint}: the page is not a JSON object")
    value = document.get("$next")
    return value if isinstance(value, str) else None


class PageOrder:
    """Pages of one listing must come in increasing ``$page`` order; a repeat is a server bug."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.last = 0

    def check(self, page: Page) -> None:
        if page.page <= self.last:
            raise SageDataError(
                f"{self.endpoint}: Sage returned page {page.page} again after page {self.last}"
            )
        self.last = page.page


class _Reading:
    """One way of reading a page: its schema and the casts that finish it."""

    def __init__(self, fields: dict[str, Field], children: tuple[str, ...], fast: bool) -> None:
        self.item_type = struct_of(fields, children, fast)
        self.schema = pa.schema(
            [
                ("$total", pa.int64()),
                ("$page", pa.int64()),
                ("$next", pa.string()),
                ("$items", pa.list_(self.item_type)),
            ]
        )
        self.options = pj.ParseOptions(
            explicit_schema=self.schema, unexpected_field_behavior="ignore", newlines_in_values=True
        )
        self.parent_casts = casts({k: v for k, v in fields.items() if k not in children}, fast)
        self.child_casts = {name: casts(_item_fields(fields[name]), fast) for name in children}

    def read(self, body: bytes) -> pa.Table:
        return pj.read_json(pa.py_buffer(body), read_options=_READ_OPTIONS, parse_options=self.options)


class PageReader:
    """Reads pages of one endpoint and turns their items into dlt-ready tables."""

    def __init__(
        self, endpoint: str, children: tuple[str, ...] = (), fields: dict[str, Field] | None = None
    ) -> None:
        self.endpoint = endpoint
        self.fields = fields if fields is not None else fields_of(endpoint)
        self.children = children
        self._fast = _Reading(self.fields, children, fast=True)
        self._text = _Reading(self.fields, children, fast=False)

    # -- reading ------------------------------------------------------------------------------

    def read(self, body: bytes) -> Page:
        """Fast when Sage's values are what its spec says; else as text, then cast (and explained)."""
        reading = self._fast
        try:
            table = reading.read(body)
        except pa.ArrowInvalid:
            reading = self._text
            try:
                table = reading.read(body)
            except pa.ArrowInvalid as exc:
                if "changed from string to number" not in str(exc):
                    raise SageDataError(
                        f"{self.endpoint}: the page is not valid JSON of the expected shape ({exc})"
                    ) from exc
                table = self._read_numbers_as_text(body)
        if table.num_rows != 1:
            raise SageDataError(f"{self.endpoint}: expected one JSON object per page, got {table.num_rows}")
        return self._pages(table, reading)[0]

    def read_many(self, bodies: list[bytes]) -> list[Page]:
        """Several pages in one parse (cheaper than one by one); falls back to one by one."""
        if len(bodies) == 1:
            return [self.read(bodies[0])]
        buffer = b"\n".join(bodies)
        options = pj.ReadOptions(block_size=len(buffer) + 1, use_threads=False)
        try:
            table = pj.read_json(pa.py_buffer(buffer), read_options=options, parse_options=self._fast.options)
        except pa.ArrowInvalid:
            return [self.read(body) for body in bodies]
        if table.num_rows != len(bodies):
            return [self.read(body) for body in bodies]
        return self._pages(table, self._fast)

    def _pages(self, table: pa.Table, reading: _Reading) -> list[Page]:
        """One page per row of a parsed table; each page's items are a slice of one array."""
        lists = table.column("$items").combine_chunks()
        if lists.null_count:  # `{}`, or an envelope without its list: not an empty page
            raise SageDataError(
                f"{self.endpoint}: the answer has no $items list, so it is not a page of the list"
            )
        offsets = lists.offsets.to_pylist()
        values = lists.values
        if len(values):
            items = pa.Table.from_struct_array(values)
        else:
            items = pa.Table.from_struct_array(pa.array([], reading.item_type))
        totals = table.column("$total").to_pylist()
        numbers = table.column("$page").to_pylist()
        pages = []
        for row in range(table.num_rows):
            start, end = offsets[row] - offsets[0], offsets[row + 1] - offsets[0]
            total = totals[row]
            pages.append(
                Page(
                    total=total if total is not None else end - start,
                    page=numbers[row] or 1,
                    items=items.slice(start, end - start),
                    fast=reading is self._fast,
                )
            )
        return pages

    @staticmethod
    def merge(pages: list[Page]) -> Page:
        """Pages read together, as one page of all their items (shaped in one go)."""
        if len(pages) == 1:
            return pages[0]
        if len({p.fast for p in pages}) > 1:  # one page fell back to the text reader
            raise ValueError("pages read in different ways cannot be merged")
        last = pages[-1]
        items = pa.concat_tables([p.items for p in pages])
        return Page(total=last.total, page=last.page, items=items, fast=last.fast)

    def _read_numbers_as_text(self, body: bytes) -> pa.Table:
        """The slow path: JSON numbers in text/decimal fields become their literal digits."""
        document = json.loads(body, parse_float=str)
        if isinstance(document.get("$items"), list):  # anything else is refused by ``_pages``
            document["$items"] = [_texts(item, self.fields) for item in document["$items"]]
        return pa.Table.from_pylist([document], schema=self._text.schema)

    # -- shaping ------------------------------------------------------------------------------

    def tables(self, page: Page, business_id: str, replaces: bool = True) -> dict[str, pa.Table]:
        """The parent table (``endpoint``) and one table per child list (``endpoint__child``).

        ``replaces``: the rows may already be loaded (an incremental run), so parents whose lists
        are now empty get a marker that deletes their old children. A business's first load
        has nothing to replace and skips them (at a million invoices, millions of markers).
        """
        out: dict[str, pa.Table] = {}
        reading = self._fast if page.fast else self._text
        items = page.items
        for name in self.children:
            out[child_table(self.endpoint, name)] = self._child(items, name, business_id, reading, replaces)
        parent = items.drop_columns(list(self.children))
        parent = _flatten(parent)
        parent = _apply_casts(parent, reading.parent_casts, self.endpoint)
        parent = parent.append_column(BUSINESS_ID, pa.array([business_id] * len(parent), pa.string()))
        out[self.endpoint] = parent
        return out

    def _child(
        self, items: pa.Table, name: str, business_id: str, reading: _Reading, replaces: bool
    ) -> pa.Table:
        """The child table of the list ``name`` of each row in ``items``."""
        lists = items.column(name).combine_chunks()
        values = pc.list_flatten(lists)
        if pa.types.is_struct(values.type):
            table = pa.Table.from_struct_array(values)
        else:
            table = pa.table({"value": values})
        table = _apply_casts(_flatten(table), reading.child_casts[name], f"{self.endpoint}.{name}")
        parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        offsets = lists.offsets.to_numpy()
        positions = np.arange(len(parents)) - offsets[parents]
        id_array = items.column(ID).combine_chunks()
        table = (
            table.append_column(BUSINESS_ID, pa.array([business_id] * len(table), pa.string()))
            .append_column(PARENT_ID, id_array.take(pa.array(parents, pa.int64())))
            .append_column(LIST_INDEX, pa.array(positions, pa.int64()))
            .append_column(REPLACED, pa.array([False] * len(table), pa.bool_()))
        )
        if not replaces:
            return table
        # Parents whose list is empty (or absent) now: one marker each, so their old children go.
        lengths = pc.fill_null(pc.list_value_length(lists), 0)
        emptied = id_array.filter(pc.equal(lengths, 0))
        if len(emptied):
            marker: dict[str, pa.Array] = {
                BUSINESS_ID: pa.array([business_id] * len(emptied), pa.string()),
                PARENT_ID: emptied,
                LIST_INDEX: pa.array([-1] * len(emptied), pa.int64()),
                REPLACED: pa.array([True] * len(emptied), pa.bool_()),
            }
            if ID in table.column_names:  # items with ids (contact types, lines): a key column, never null
                marker[ID] = pa.array([""] * len(emptied), table.schema.field(ID).type)
            markers = pa.table(marker)
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
        if cast.kind != "decimal" and pa.types.is_string(column.type):  # "" for some unset dates
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
        return _kind_text(value, field)
    if "object" in field and isinstance(value, dict):
        return {k: _texts(value.get(k), sub) for k, sub in field["object"].items()}
    if "list" in field and isinstance(value, list):
        return [_texts(v, field["list"]) for v in value]
    return value


def _kind_text(value: Any, kind: str) -> Any:
    """``_texts`` for a field of one kind (not an object or a list)."""
    if kind in ("text", "decimal", "date", "timestamp") and isinstance(value, int | float | str):
        return value if isinstance(value, str) else str(value)
    if kind == "ref" and isinstance(value, dict):
        return {k: _texts(value.get(k), "text") for k in ("id", "displayed_as")}
    return value
