"""One list endpoint's rows for one business.

Rows are kept as the exact JSON Sage would send (``attributes=all``), 64 rows to a block; a
block is compressed with zstd once it leaves the collection's working set of recently written
blocks. That keeps a million invoices with their payments and ledger in about two gigabytes,
and serves a page of 200 rows by decompressing four blocks and joining bytes, with no per-row
Python objects.

Filterable attributes are copied into integer columns (``array.array``, grown a block at a
time) when a row is written; list queries turn them into numpy masks
(``updated_or_created_since``, ``contact_id``, ``from_date`` ...).
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import orjson
import zstandard

from sage_sandbox.ids import IdCodec, key64

BLOCK_ROWS = 64
# Rows a collection keeps uncompressed. Documents settled weeks after they are written (invoices
# paid late) get a larger window so that settling them rarely reopens a compressed block.
DEFAULT_OPEN_ROWS = 8_192

# Row states in the ``state`` column.
RESERVED, LIVE, DELETED = 0, 1, 2

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_compressor = zstandard.ZstdCompressor(level=1)
_decompressor = zstandard.ZstdDecompressor()

ColumnKind = Literal["key", "code", "date", "flag", "bits"]
Row = dict[str, Any]
# array typecode, numpy dtype and the value of a row that has none, per column kind
_STORAGE: dict[str, tuple[str, type, int]] = {
    "key": ("q", np.int64, 0),
    "code": ("i", np.int32, -1),
    "date": ("i", np.int32, -1),
    "flag": ("b", np.int8, -1),
    "bits": ("q", np.int64, 0),
}


@dataclass(frozen=True)
class IndexSpec:
    """How one filterable attribute is copied from a row into an integer column.

    ``key`` fingerprints an id (high cardinality: contacts, transactions); ``code`` interns a
    low-cardinality id (statuses, transaction types); ``date`` stores days since 1970 (-1 when
    absent); ``flag`` stores 1/0 (-1 when absent); ``bits`` ORs a small vocabulary of ids (a
    contact's ``contact_types``).
    """

    column: str
    kind: ColumnKind
    extract: Callable[[Row], Any]


@lru_cache(maxsize=8192)
def date_to_days(value: str | None) -> int:
    if not value:
        return -1
    return date.fromisoformat(value[:10]).toordinal() - _EPOCH_ORDINAL


class Collection:
    """Rows of one Sage resource for one business, addressable by position and by id."""

    def __init__(
        self,
        name: str,
        codec: IdCodec,
        indexes: Sequence[IndexSpec] = (),
        search: Callable[[Row], str] | None = None,
        open_rows: int = DEFAULT_OPEN_ROWS,
    ) -> None:
        self.name = name
        self.codec = codec
        self.version = 0
        self._size = 0
        self._open_limit = max(2, open_rows // BLOCK_ROWS)
        self._explicit: dict[str, int] = {}
        self._explicit_ids: dict[int, str] = {}
        self._blocks: list[bytes | list[bytes | None]] = []
        self._open: OrderedDict[int, None] = OrderedDict()
        self._last_touched = -1
        self._state = array("b")
        self._created = array("I")
        self._updated = array("I")
        self._deleted_at: dict[int, int] = {}
        self._kinds = {spec.column: spec.kind for spec in indexes}
        self._columns = {spec.column: array(_STORAGE[spec.kind][0]) for spec in indexes}
        self._codes: dict[str, dict[str, int]] = {s.column: {} for s in indexes if s.kind in ("code", "bits")}
        self._writer_columns: set[str] = set()
        self._indexes = tuple(indexes)
        self._plan = self._compile()
        self._search = search
        self._search_text: list[str] | None = [] if search else None
        # Row selections of recent list queries, keyed by (version, query); see query.select.
        self.selections: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()

    # -- positions and ids -------------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    def reserve(self, explicit_id: str | None = None) -> tuple[int, str]:
        """Claim the next position (and its id) before the row is built.

        Documents refer to each other (an invoice to its transaction, the transaction back to
        the invoice), so ids are handed out first and rows written with :meth:`put` after.
        """
        position = self._size
        if position % BLOCK_ROWS == 0:
            self._grow()
        self._size += 1
        if explicit_id is not None:
            self._explicit[explicit_id] = position
            self._explicit_ids[position] = explicit_id
            return position, explicit_id
        return position, self.codec.encode(position)

    def _grow(self) -> None:
        """Room for one more block: a slot list and a block's worth of every column."""
        self._blocks.append([None] * BLOCK_ROWS)
        self._touch(len(self._blocks) - 1)
        self._state.extend(bytes(BLOCK_ROWS))
        for column in (self._created, self._updated):
            column.extend(array("I", bytes(4 * BLOCK_ROWS)))
        for name, column in self._columns.items():
            column.extend(array(column.typecode, [_STORAGE[self._kinds[name]][2]]) * BLOCK_ROWS)
        if self._search_text is not None:
            self._search_text.extend([""] * BLOCK_ROWS)

    def id_of(self, position: int) -> str:
        return self._explicit_ids.get(position) or self.codec.encode(position)

    def position_of(self, key: str) -> int | None:
        """The position of a written row (live or deleted) with this id, else ``None``."""
        position = self._explicit.get(key)
        if position is None:
            position = self.codec.decode(key)
        if position is None or position >= self._size or self._state[position] == RESERVED:
            return None
        return position

    def is_live(self, position: int) -> bool:
        return bool(self._state[position] == LIVE)

    # -- writes -------------------------------------------------------------------------------

    def put(self, position: int, row: Row, index: dict[str, Any] | None = None) -> None:
        """Store (or replace) the row at ``position`` and refresh its index columns.

        ``index`` supplies column values the row itself does not carry (a ledger entry's
        transaction type is its transaction's). A column once supplied that way belongs to the
        writer: later writes of the row leave it alone unless they supply it again.
        """
        block, slot = divmod(position, BLOCK_ROWS)
        rows = self._blocks[block]
        if type(rows) is not list or block != self._last_touched:
            rows = self._open_block(block)
        rows[slot] = _pack(row)
        self._state[position] = LIVE
        updated = _epoch(row.get("updated_at"))
        self._updated[position] = updated
        self._created[position] = _epoch(row.get("created_at")) or updated
        if index:
            self._writer_columns.update(index)
        writer = self._writer_columns
        for name, column, encode, extract in self._plan:
            if index and name in index:
                column[position] = encode(index[name])
            elif name not in writer:
                column[position] = encode(extract(row))
        if self._search_text is not None and self._search is not None:
            self._search_text[position] = self._search(row).lower()
        self.version += 1

    def update(self, position: int, change: Callable[[Row], None]) -> Row:
        """Load the row, let ``change`` edit it in place, store it again, return it."""
        row = self.get(position)
        change(row)
        self.put(position, row)
        return row

    def delete(self, position: int, deleted_at: int) -> None:
        """Hard-delete: the row leaves list results and appears in ``deleted_since`` feeds."""
        self._state[position] = DELETED
        self._deleted_at[position] = deleted_at
        self.version += 1

    # -- reads --------------------------------------------------------------------------------

    def get_json(self, position: int) -> bytes:
        block, slot = divmod(position, BLOCK_ROWS)
        data = self._rows_of(block)[slot]
        if data is None:
            raise KeyError(f"{self.name}[{position}] has not been written")
        return data

    def get(self, position: int) -> Row:
        row: Row = orjson.loads(self.get_json(position))
        return row

    def get_many_json(self, positions: Iterable[int]) -> list[bytes]:
        """Rows for ``positions`` in the given order, decompressing each block once."""
        out: list[bytes] = []
        cached_block = -1
        rows: list[bytes | None] = []
        for position in positions:
            block, slot = divmod(int(position), BLOCK_ROWS)
            if block != cached_block:
                cached_block, rows = block, self._rows_of(block)
            data = rows[slot]
            if data is None:
                raise KeyError(f"{self.name}[{position}] has not been written")
            out.append(data)
        return out

    def iter_rows(self, positions: Iterable[int] | None = None) -> Iterator[Row]:
        """Decoded rows, live ones by default, in position order."""
        chosen = self.live_positions() if positions is None else positions
        for data in self.get_many_json(chosen):
            yield orjson.loads(data)

    def live_positions(self) -> np.ndarray:
        return np.flatnonzero(self.state_view() == LIVE)

    def deleted_since(self, after: int) -> list[int]:
        """Positions deleted strictly after ``after`` (Sage's ``deleted_since`` is exclusive)."""
        return sorted(p for p, at in self._deleted_at.items() if at > after)

    def deleted_at(self, position: int) -> int | None:
        return self._deleted_at.get(position)

    # -- columns as numpy (copies: safe to keep while rows are appended) -----------------------

    def state_view(self) -> np.ndarray:
        return _numpy(self._state, np.int8, self._size)

    def created_view(self) -> np.ndarray:
        return _numpy(self._created, np.uint32, self._size)

    def updated_view(self) -> np.ndarray:
        return _numpy(self._updated, np.uint32, self._size)

    def column_view(self, column: str) -> np.ndarray:
        return _numpy(self._columns[column], _STORAGE[self._kinds[column]][1], self._size)

    def matches(self, column: str, value: str) -> np.ndarray:
        """Boolean mask of rows whose ``column`` holds the id ``value`` (or includes it, for bits)."""
        kind = self._kinds[column]
        view = self.column_view(column)
        if kind == "key":
            return np.asarray(view == key64(value), dtype=bool)
        code = self._codes[column].get(value)
        if code is None:
            return np.zeros(len(view), dtype=bool)
        if kind == "bits":
            return np.asarray((view & (1 << code)) != 0, dtype=bool)
        if kind == "code":
            return np.asarray(view == code, dtype=bool)
        raise ValueError(f"column {column!r} is not an id column")

    def search_matches(self, needle: str) -> np.ndarray:
        """Boolean mask of rows whose searchable text contains ``needle`` (case-insensitive)."""
        assert self._search_text is not None, f"{self.name} is not searchable"
        needle = needle.lower()
        texts = self._search_text[: self._size]
        return np.fromiter((needle in text for text in texts), dtype=bool, count=self._size)

    def seal_all(self) -> None:
        """Compress every block (after bulk generation, to reach steady-state memory)."""
        for block in list(self._open):
            self._seal(block)
        self._open.clear()
        self._last_touched = -1

    # -- internals ----------------------------------------------------------------------------

    def _compile(self) -> list[tuple[str, array, Callable[[Any], int], Callable[[Row], Any]]]:
        """(column name, column, encoder, extractor) per index: what ``put`` runs for each row."""
        return [(s.column, self._columns[s.column], self._encoder(s), s.extract) for s in self._indexes]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_plan"]  # encoders are closures; rebuilt on load
        state["selections"] = OrderedDict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._plan = self._compile()

    def _encoder(self, spec: IndexSpec) -> Callable[[Any], int]:
        """How values of ``spec`` become integers in its column."""
        if spec.kind == "date":
            return date_to_days
        if spec.kind == "flag":
            return lambda value: -1 if value is None else int(bool(value))
        if spec.kind == "key":
            return lambda value: key64(value) if value else 0
        codes = self._codes[spec.column]
        if spec.kind == "code":
            return lambda value: -1 if value is None else codes.setdefault(value, len(codes))

        def bits(values: Any) -> int:
            mask = 0
            for item in values or ():
                bit = codes.setdefault(item, len(codes))
                if bit > 62:
                    raise ValueError(f"too many distinct values for bit column {spec.column!r}")
                mask |= 1 << bit
            return mask

        return bits

    def _touch(self, block: int) -> None:
        self._last_touched = block
        self._open[block] = None
        self._open.move_to_end(block)
        while len(self._open) > self._open_limit:
            oldest, _ = self._open.popitem(last=False)
            self._seal(oldest)

    def _seal(self, block: int) -> None:
        rows = self._blocks[block]
        if isinstance(rows, list):
            packed = _compressor.compress(b"\n".join(r or b"" for r in rows))
            # Like orjson, zstandard hands back bytes sized to the worst case (the input's
            # compress bound, ~10x the output here): keep an exact-size copy.
            self._blocks[block] = memoryview(packed).tobytes()

    def _open_block(self, block: int) -> list[bytes | None]:
        rows = self._blocks[block]
        if not isinstance(rows, list):
            rows = _split(rows)
            self._blocks[block] = rows
        self._touch(block)
        return rows

    def _rows_of(self, block: int) -> list[bytes | None]:
        rows = self._blocks[block]
        return rows if isinstance(rows, list) else _split(rows)


def _numpy(column: array, dtype: type, size: int) -> np.ndarray:
    return np.frombuffer(column, dtype=dtype, count=size).copy()


def _pack(row: Row) -> bytes:
    """The row's JSON as an exact-size bytes object.

    ``orjson.dumps`` returns bytes that keep their working capacity (4 KB or more even for a
    100-byte document); rows kept open in memory would cost ten times their size.
    """
    return memoryview(orjson.dumps(row)).tobytes()


def _split(packed: bytes) -> list[bytes | None]:
    return [r or None for r in _decompressor.decompress(packed).split(b"\n")]


@lru_cache(maxsize=65536)
def _epoch(value: str | None) -> int:
    """Epoch seconds of a Sage timestamp (``2021-09-09T14:36:01Z``); 0 when absent.

    Cached: a transaction, its ledger entries and its document share one timestamp.
    """
    return int(datetime.fromisoformat(value).timestamp()) if value else 0
