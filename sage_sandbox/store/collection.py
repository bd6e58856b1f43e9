"""One list endpoint's rows for one business.

Rows are kept as the exact JSON Sage would send (``attributes=all``), 32 rows to a block,
blocks compressed with zstd once they leave a small working set of recently written blocks.
That keeps a million invoices with their ledger in about a gigabyte and lets a page of 200
rows be served by decompressing seven blocks and joining bytes, with no per-row Python objects.

Filterable attributes are copied into numpy columns when a row is written, so list queries
(``updated_or_created_since``, ``contact_id``, ``from_date`` ...) are vectorised masks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import orjson
import zstandard

from sage_sandbox.ids import IdCodec, key64
from sage_sandbox.store.columns import Column

BLOCK_ROWS = 32
OPEN_BLOCK_LIMIT = 1024

# Row states in the ``state`` column.
RESERVED, LIVE, DELETED = 0, 1, 2

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_compressor = zstandard.ZstdCompressor(level=1)
_decompressor = zstandard.ZstdDecompressor()

ColumnKind = Literal["key", "code", "date", "flag", "bits"]
Row = dict[str, Any]


@dataclass(frozen=True)
class IndexSpec:
    """How one filterable attribute is copied from a row into a numpy column.

    ``key`` fingerprints an id (high cardinality: contacts, transactions); ``code`` interns a
    low-cardinality id (statuses, transaction types); ``date`` stores days since 1970 (-1 when
    absent); ``flag`` stores 1/0 (-1 when absent); ``bits`` ORs a small vocabulary of ids (a
    contact's ``contact_types``).
    """

    column: str
    kind: ColumnKind
    extract: Callable[[Row], Any]


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
    ) -> None:
        self.name = name
        self.codec = codec
        self.version = 0
        self._explicit: dict[str, int] = {}
        self._explicit_ids: dict[int, str] = {}
        self._blocks: list[bytes | list[bytes | None]] = []
        self._open: OrderedDict[int, None] = OrderedDict()
        self._state = Column(np.int8)
        self._created = Column(np.uint32)
        self._updated = Column(np.uint32)
        self._deleted_at: dict[int, int] = {}
        self._indexes = tuple(indexes)
        self._columns: dict[str, Column] = {spec.column: _column_for(spec.kind) for spec in self._indexes}
        self._codes: dict[str, dict[str, int]] = {
            s.column: {} for s in self._indexes if s.kind in ("code", "bits")
        }
        self._search = search
        self._search_text: list[str] | None = [] if search else None
        self._writer_columns: set[str] = set()

    # -- positions and ids -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._state)

    def reserve(self, explicit_id: str | None = None) -> tuple[int, str]:
        """Claim the next position (and its id) before the row is built.

        Documents refer to each other (an invoice to its transaction, the transaction back to
        the invoice), so ids are handed out first and rows written with :meth:`put` after.
        """
        position = len(self._state)
        if position % BLOCK_ROWS == 0:
            self._blocks.append([None] * BLOCK_ROWS)
            self._touch(position // BLOCK_ROWS)
        self._state.append(RESERVED)
        self._created.append(0)
        self._updated.append(0)
        for column in self._columns.values():
            column.append(column.fill)
        if self._search_text is not None:
            self._search_text.append("")
        if explicit_id is not None:
            self._explicit[explicit_id] = position
            self._explicit_ids[position] = explicit_id
        return position, explicit_id or self.codec.encode(position)

    def id_of(self, position: int) -> str:
        return self._explicit_ids.get(position) or self.codec.encode(position)

    def position_of(self, key: str) -> int | None:
        """The position of a written row (live or deleted) with this id, else ``None``."""
        position = self._explicit.get(key)
        if position is None:
            position = self.codec.decode(key)
        if position is None or position >= len(self._state) or self._state[position] == RESERVED:
            return None
        return position

    def is_live(self, position: int) -> bool:
        return self._state[position] == LIVE

    # -- writes -------------------------------------------------------------------------------

    def put(self, position: int, row: Row, index: dict[str, Any] | None = None) -> None:
        """Store (or replace) the row at ``position`` and refresh its index columns.

        ``index`` supplies column values the row itself does not carry (a ledger entry's
        transaction type is its transaction's). A column once supplied that way belongs to the
        writer: later writes of the row leave it alone unless they supply it again.
        """
        block, slot = divmod(position, BLOCK_ROWS)
        self._open_block(block)[slot] = orjson.dumps(row)
        self._state[position] = LIVE
        self._created[position] = _epoch(row.get("created_at")) or _epoch(row.get("updated_at"))
        self._updated[position] = _epoch(row.get("updated_at"))
        if index:
            self._writer_columns.update(index)
        for spec in self._indexes:
            if index and spec.column in index:
                value = index[spec.column]
            elif spec.column in self._writer_columns:
                continue
            else:
                value = spec.extract(row)
            self._columns[spec.column][position] = self._encode(spec, value)
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

    def live_positions(self) -> np.ndarray:
        return np.flatnonzero(self._state.view() == LIVE)

    def deleted_since(self, after: int) -> list[int]:
        """Positions deleted strictly after ``after`` (Sage's ``deleted_since`` is exclusive)."""
        return sorted(p for p, at in self._deleted_at.items() if at > after)

    def deleted_at(self, position: int) -> int | None:
        return self._deleted_at.get(position)

    def iter_rows(self, positions: Iterable[int] | None = None) -> Iterator[Row]:
        """Decoded rows, live ones by default, in position order."""
        chosen = self.live_positions() if positions is None else positions
        for data in self.get_many_json(chosen):
            yield orjson.loads(data)

    def state_view(self) -> np.ndarray:
        return self._state.view()

    def created_view(self) -> np.ndarray:
        return self._created.view()

    def updated_view(self) -> np.ndarray:
        return self._updated.view()

    def column_view(self, column: str) -> np.ndarray:
        return self._columns[column].view()

    def has_column(self, column: str) -> bool:
        return column in self._columns

    def matches(self, column: str, value: str) -> np.ndarray:
        """Boolean mask of rows whose ``column`` holds the id ``value`` (or includes it, for bits)."""
        kind = next(spec.kind for spec in self._indexes if spec.column == column)
        view = self._columns[column].view()
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
        return np.fromiter((needle in text for text in self._search_text), dtype=bool, count=len(self))

    @property
    def searchable(self) -> bool:
        return self._search_text is not None

    def memory_blocks(self) -> tuple[int, int]:
        """(compressed bytes, rows in uncompressed blocks): for benchmarks and sizing."""
        packed = sum(len(b) for b in self._blocks if isinstance(b, bytes))
        return packed, len(self._open) * BLOCK_ROWS

    # -- internals ----------------------------------------------------------------------------

    def _encode(self, spec: IndexSpec, value: Any) -> int:
        kind = spec.kind
        if kind == "date":
            return date_to_days(value)
        if kind == "flag":
            return -1 if value is None else int(bool(value))
        if kind == "key":
            return key64(value) if value else 0
        codes = self._codes[spec.column]
        if kind == "code":
            return -1 if value is None else codes.setdefault(value, len(codes))
        mask = 0  # bits
        for item in value or ():
            bit = codes.setdefault(item, len(codes))
            if bit > 62:
                raise ValueError(f"too many distinct values for bit column {spec.column!r}")
            mask |= 1 << bit
        return mask

    def _touch(self, block: int) -> None:
        self._open[block] = None
        self._open.move_to_end(block)
        while len(self._open) > OPEN_BLOCK_LIMIT:
            oldest, _ = self._open.popitem(last=False)
            self._seal(oldest)

    def _seal(self, block: int) -> None:
        rows = self._blocks[block]
        if isinstance(rows, list):
            self._blocks[block] = _compressor.compress(b"\n".join(r or b"" for r in rows))

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

    def seal_all(self) -> None:
        """Compress every block (after bulk generation, to report steady-state memory)."""
        for block in list(self._open):
            self._seal(block)
        self._open.clear()


def _split(packed: bytes) -> list[bytes | None]:
    return [r or None for r in _decompressor.decompress(packed).split(b"\n")]


def _column_for(kind: ColumnKind) -> Column:
    if kind == "date":
        return Column(np.int32, fill=-1)
    if kind == "flag":
        return Column(np.int8, fill=-1)
    if kind == "code":
        return Column(np.int32, fill=-1)
    return Column(np.int64, fill=0)


def _epoch(value: str | None) -> int:
    """Epoch seconds of a Sage timestamp (``2021-09-09T14:36:01Z``); 0 when absent."""
    return int(datetime.fromisoformat(value).timestamp()) if value else 0
