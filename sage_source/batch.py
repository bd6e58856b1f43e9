"""Rows on their way to dlt: gathered into batches, and held until their business × resource is whole.

dlt's cost is per item, so rows go to it a few thousand at a time (``Batch``). And a business ×
resource must land whole or not at all: if reading it fails half-way (a 5xx after the retries,
a 403 on page 3), none of its rows may reach the warehouse, because the watermark stays where it
was and the marts must not be built on half a list. So while one is being read its rows are
*held* (``Batch.open`` … ``commit`` or ``discard``): in memory up to ``batch_rows`` rows, then
spilled to Arrow IPC files in a temporary folder (LZ4-compressed; a first load of a million
invoices is gigabytes) and read back only once the read succeeded.

Held rows can also be *superseded*: a row read again at the end of the listing (edited while
it was being paged) replaces the copy read earlier, with its child rows, before anything is
handed to dlt. The warehouse so receives each key once per run, in its newest version.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from sage_source.deletions import DELETIONS_HINTS, SWEEPS_HINTS
from sage_source.models import keys_required
from sage_source.outcomes import outcome_hints
from sage_source.settings import APPEND, MERGE
from sage_source.tables import (
    CHILD_KEY,
    CHILD_PARENT,
    DELETIONS_TABLE,
    ID,
    OUTCOMES_TABLE,
    PARENT_ID,
    REPLACED,
    SWEEPS_TABLE,
    is_child_table,
)

_IPC = pa.ipc.IpcWriteOptions(compression="lz4")


class Batch:
    """Gathers tables per name and hands them to dlt a few thousand rows at a time.

    Each table goes out as a dlt table variant with its own hints: the endpoint's rows, its
    child tables, the delete records (:mod:`sage_source.deletions`) and the outcome records
    (:mod:`sage_source.outcomes`).
    """

    def __init__(self, parent: str, rows: int, append: bool) -> None:
        self.parent = parent
        self.limit = rows
        self.append = append  # a first load: see ``resources.list_resource``
        self.hints: dict[str, Any] = {
            parent: parent_hints(parent, append),
            DELETIONS_TABLE: DELETIONS_HINTS,
            SWEEPS_TABLE: SWEEPS_HINTS,
            OUTCOMES_TABLE: outcome_hints(),
        }
        self.parts: dict[str, list[pa.Table]] = {}
        self.rows = 0
        self.held: _Held | None = None

    # -- one business × resource at a time ---------------------------------------------------

    def open(self) -> None:
        """Hold what is added from now on until ``commit`` (lands) or ``discard`` (never lands)."""
        self.held = _Held(self.parent, self.limit)

    def commit(self) -> Iterator[Any]:
        """The read succeeded: its rows join the batch (spilled ones go to dlt straight away)."""
        held, self.held = self.held, None
        if held is None:
            return
        for name, table in held.spilled():
            yield self._out(name, table)
        for name, parts in held.parts.items():
            self.parts.setdefault(name, []).extend(parts)
            self.rows += sum(len(part) for part in parts)
        if self.rows >= self.limit:
            yield from self.flush()

    def discard(self) -> int:
        """The read failed: forget its rows; returns how many there were."""
        held, self.held = self.held, None
        if held is None:
            return 0
        rows = held.rows
        held.close()
        return rows

    def supersede(self, ids: pa.ChunkedArray | pa.Array) -> int:
        """Drop held rows with these ids (and their child rows): newer copies follow."""
        return self.held.drop(ids) if self.held is not None else 0

    # -- batching -----------------------------------------------------------------------------

    def add(self, tables: dict[str, pa.Table]) -> Iterator[Any]:
        """Tables by name (a page's rows and child rows, delete records, outcomes)."""
        if self.held is not None:
            self.held.add(tables)
            return
        for name, table in tables.items():
            if len(table):
                self.parts.setdefault(name, []).append(table)
                self.rows += len(table)
        if self.rows >= self.limit:
            yield from self.flush()

    def flush(self) -> Iterator[Any]:
        for name, parts in self.parts.items():
            yield self._out(name, pa.concat_tables(parts, promote_options="default"))
        self.parts = {}
        self.rows = 0

    def _out(self, name: str, table: pa.Table) -> Any:
        hints = self.hints.get(name) or child_hints(name, self.append)
        return dlt.mark.with_hints(keys_required(table), hints, create_table_variant=True)


class _Held:
    """The rows of one business × resource being read: in memory, then spilled to disk."""

    def __init__(self, parent: str, limit: int) -> None:
        self.parent = parent
        self.limit = limit
        self.parts: dict[str, list[pa.Table]] = {}
        self.in_memory = 0
        self.rows = 0
        self._files: list[tuple[str, Path]] = []
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def add(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            if len(table):
                self.parts.setdefault(name, []).append(table)
                self.in_memory += len(table)
                self.rows += len(table)
        if self.in_memory >= self.limit:
            self._spill()

    def _spill(self) -> None:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="sage-held-")
        for name, parts in self.parts.items():
            table = pa.concat_tables(parts, promote_options="default")
            path = Path(self._folder.name) / f"{len(self._files):06d}.arrow"
            _write(path, table)
            self._files.append((name, path))
        self.parts = {}
        self.in_memory = 0

    def spilled(self) -> Iterator[tuple[str, pa.Table]]:
        """What went to disk, read back a file at a time; the folder goes when all is read."""
        try:
            for name, path in self._files:
                yield name, _read(path)
        finally:
            self.close()

    def drop(self, ids: pa.ChunkedArray | pa.Array) -> int:
        wanted = pa.array(ids.to_pylist() if isinstance(ids, pa.ChunkedArray) else ids, pa.string())
        dropped = 0
        for name, parts in self.parts.items():
            kept = [self._without(name, part, wanted) for part in parts]
            dropped += sum(len(a) - len(b) for a, b in zip(parts, kept, strict=True))
            self.parts[name] = kept
        for name, path in self._files:
            table = _read(path)
            kept_table = self._without(name, table, wanted)
            if len(kept_table) != len(table):
                dropped += len(table) - len(kept_table)
                _write(path, kept_table)
        self.rows -= dropped
        return dropped

    def _without(self, name: str, table: pa.Table, ids: pa.Array) -> pa.Table:
        if name == self.parent:
            column = ID
        elif is_child_table(name, self.parent):
            column = PARENT_ID
        else:
            return table  # delete records and sweeps are not copies of rows
        return table.filter(pc.invert(pc.is_in(table.column(column), ids)))

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self._files = []


def _write(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=_IPC) as writer:
        writer.write_table(table)


def _read(path: Path) -> pa.Table:
    with pa.memory_map(str(path), "r") as source:
        table: pa.Table = pa.ipc.open_file(source).read_all()
    return table


@cache
def parent_hints(table_name: str, append: bool) -> Any:
    """The endpoint's own table: merged on ``(business_id, id)`` (the resource's hints), or
    appended on a first load. Given as a table variant so child tables do not inherit it."""
    return dlt.mark.make_hints(table_name=table_name, write_disposition=APPEND if append else MERGE)


@cache
def child_hints(table_name: str, append: bool) -> Any:
    """A child table is replaced per parent: its rows merge on ``(business_id, parent_id)``.

    Replacement markers (a parent whose list is now empty) exist only when merging.
    """
    if append:
        return dlt.mark.make_hints(
            table_name=table_name, write_disposition=APPEND, primary_key=CHILD_KEY, merge_key=CHILD_PARENT
        )
    return dlt.mark.make_hints(
        table_name=table_name,
        write_disposition=MERGE,
        merge_key=CHILD_PARENT,
        primary_key=CHILD_KEY,
        columns={REPLACED: {"data_type": "bool", "hard_delete": True}},
    )
