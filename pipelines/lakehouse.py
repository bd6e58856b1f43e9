"""The filesystem destination's tables, as Delta tables that DuckDB reads and the run's checks write.

``--destination filesystem`` writes each table as a Delta table (``pipelines.destinations``), the
one file format dlt can merge into and delete from in place. What the run does after a load is SQL
(the duplicate-key check, the outcomes, :func:`sage_source.deletions.mark_deletions`), and dlt's
own SQL client on files is DuckDB views that cannot be written and that read Delta with DuckDB's
``delta`` extension, which DuckDB downloads on first use. So :class:`DeltaSql` answers the same
SQL itself: each Delta table is read through ``deltalake`` into Arrow, which DuckDB queries in
place; a table an ``UPDATE``/``DELETE`` touches is copied into DuckDB first, and written back as a
new Delta version when the statement changed a row (the whole table: Delta keeps the old version
until ``vacuum``).

Delta merges by ``upsert`` only, which replaces a row by its key and cannot replace a parent's
list whole as ``delete-insert`` does on SQL databases: a list that got shorter would keep its old
tail. Every row carries the load that wrote it (``_dlt_load_id``), and a parent and its list are
written by the same load, so :func:`replace_children` deletes the child rows older than their
parent.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import dlt
import duckdb
from dlt.common.destination.client import SupportsOpenTables
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from sage_source.deletions import loaded_tables, mark_deletions
from sage_source.settings import ENDPOINTS
from sage_source.tables import BUSINESS_ID, ID, LOAD_ID, PARENT_ID, child_table

if TYPE_CHECKING:  # deltalake is the lakehouse extra's: imported where used
    from deltalake import DeltaTable

log = logging.getLogger("sage_pipeline")

DELTA = "delta"
# The statements that change a table, and the table they change (as ``make_qualified_table_name`` wrote it).
_WRITES = re.compile(r'^\s*(?:UPDATE|DELETE\s+FROM)\s+("[^"]+"\."[^"]+")', re.IGNORECASE)


def lake_connection(tables: Mapping[str, DeltaTable], dataset: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB in memory with a view per Delta table in the schema ``dataset``: how to query the
    files without DuckDB's ``delta`` extension (``deltalake`` reads them, DuckDB scans the Arrow)."""
    db = _connect(dataset)
    for name, table in tables.items():
        _view(db, dataset, name, table)
    return db


def _connect(dataset: str) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")  # instants come back as UTC, as Delta holds them
    # DuckDB 2 pushes its filters into the Arrow scan with ``string_view`` constants, which pyarrow
    # cannot compare with the tables' strings ("no kernel matching input types"): DuckDB filters.
    db.execute("SET disabled_optimizers = 'filter_pushdown'")
    db.execute(f"CREATE SCHEMA {_quoted(dataset)}")
    return db


def _view(db: duckdb.DuckDBPyConnection, dataset: str, name: str, table: DeltaTable) -> None:
    arrow = f"_delta_{dataset}_{name}"
    db.register(arrow, table.to_pyarrow_dataset())
    db.execute(f"CREATE VIEW {_quoted(dataset)}.{_quoted(name)} AS SELECT * FROM {_quoted(arrow)}")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DeltaSql:
    """The part of dlt's SQL client the run uses, over a pipeline's Delta tables.

    Used as dlt's is (``with DeltaSql(pipeline) as sql: sql.execute_sql(...)``). An ``UPDATE`` or
    ``DELETE`` is first counted over the view: one that changes nothing leaves the table alone (the
    usual run); otherwise the table is copied into DuckDB, changed there, and written back when the
    block ends without an error, one table at a time. A run stopped half-way leaves the rest to the
    next: every statement the run makes is idempotent."""

    def __init__(self, pipeline: dlt.Pipeline) -> None:
        self.pipeline = pipeline
        self.dataset_name = pipeline.dataset_name
        self._closing = contextlib.ExitStack()  # the destination client and the DuckDB connection
        self._client: Any = None
        self._db: duckdb.DuckDBPyConnection | None = None
        self._tables: dict[str, DeltaTable | None] = {}  # None: no files yet
        self._names: dict[str, str] = {}  # qualified name -> table name
        self._viewed: set[str] = set()  # a view over the Delta table's files
        self._copied: set[str] = set()  # copied into DuckDB, to be changed there
        self._changed: set[str] = set()  # changed there: written back

    def __enter__(self) -> DeltaSql:
        client: Any = self.pipeline.destination_client()  # a context manager, not typed as one
        self._client = self._closing.enter_context(client)
        if not isinstance(self._client, SupportsOpenTables):
            raise TypeError(f"{self.pipeline.destination} holds no open tables to read as Delta")
        self._db = self._closing.enter_context(_connect(self.dataset_name))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        with self._closing:
            if kind is None:
                self._write_back()
        self._db = None

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            raise RuntimeError("DeltaSql is used inside a with block")
        return self._db

    def has_dataset(self) -> bool:
        return any(self._table(name) is not None for name in self.pipeline.default_schema.data_table_names())

    def escape_column_name(self, name: str, quote: bool = True) -> str:
        return _quoted(name) if quote else name

    def make_qualified_table_name(self, table_name: str, quote: bool = True) -> str:
        """The table's name in SQL; its view is made on first use (an unwritten table has none, and
        a query of it raises :class:`DatabaseUndefinedRelation`, as dlt's clients do)."""
        qualified = f"{_quoted(self.dataset_name)}.{_quoted(table_name)}"
        self._names[qualified] = table_name
        table = self._table(table_name)
        if table is not None and table_name not in self._viewed:
            _view(self.db, self.dataset_name, table_name, table)
            self._viewed.add(table_name)
        return qualified

    def execute_sql(self, sql: str, *args: Any) -> list[tuple[Any, ...]] | None:
        written = _WRITES.match(sql)
        name = self._names.get(written.group(1)) if written else None
        if written and name is not None:
            if name not in self._copied:
                counted = self._query(_probe(sql, written.group(1)), args)
                if not (counted and counted[0][0]):
                    return [(0,)]  # it would change no row: the table stays a view over its files
            self._copy(name)
        rows = self._query(sql, args)
        if name is not None and rows and rows[0][0]:  # UPDATE and DELETE answer with the rows changed
            self._changed.add(name)
        return rows

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
        try:
            cursor = self.db.execute(sql.replace("%s", "?"), list(args))
        except duckdb.CatalogException as error:
            raise DatabaseUndefinedRelation(error) from error
        return cursor.fetchall() if cursor.description else None

    def _table(self, name: str) -> DeltaTable | None:
        from deltalake.exceptions import TableNotFoundError  # noqa: PLC0415 (the lakehouse extra)

        if name not in self._tables:
            try:
                self._tables[name] = self._client.load_open_table(DELTA, name)
            except (TableNotFoundError, FileNotFoundError):
                self._tables[name] = None
        return self._tables[name]

    def _copy(self, name: str) -> None:
        """The rows behind a table's view, copied into DuckDB so that a statement can change them."""
        if name in self._copied or name not in self._viewed:
            return
        schema, table = _quoted(self.dataset_name), _quoted(name)
        self.db.execute(f"CREATE TABLE {schema}.{_quoted(name + '_copy')} AS SELECT * FROM {schema}.{table}")
        self.db.execute(f"DROP VIEW {schema}.{table}")
        self.db.execute(f"ALTER TABLE {schema}.{_quoted(name + '_copy')} RENAME TO {table}")
        self._copied.add(name)

    def _write_back(self) -> None:
        from deltalake import write_deltalake  # noqa: PLC0415 (the lakehouse extra)

        for name in sorted(self._changed):
            table = self._tables[name]
            assert table is not None  # only a table with files has a view to copy
            rows = self.db.sql(f"SELECT * FROM {_quoted(self.dataset_name)}.{_quoted(name)}").to_arrow_table()
            write_deltalake(table, rows, mode="overwrite")
            log.info("%s: %d rows written back as a new Delta version", name, len(rows))


def _probe(statement: str, table: str) -> str:
    """``SELECT count(*)`` of the rows an ``UPDATE``/``DELETE`` would change: its WHERE outside any
    parentheses or quotes (an ``UPDATE`` may set a value from a subquery with a WHERE of its own)."""
    depth, quoted = 0, False
    for at, char in enumerate(statement):
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and statement[at : at + 7].upper() == " WHERE ":
            return f"SELECT count(*) FROM {table}{statement[at:]}"
    return f"SELECT count(*) FROM {table}"  # no WHERE: every row


def replace_children(sql: DeltaSql) -> None:
    """Delete the child rows their parent's last load did not write again (``upsert`` left them)."""
    tables = loaded_tables(sql.pipeline.default_schema)
    for endpoint in ENDPOINTS:
        if endpoint.name not in tables:
            continue
        parent = sql.make_qualified_table_name(endpoint.name)
        for child_name in (child_table(endpoint.name, child) for child in endpoint.children):
            if child_name not in tables:
                continue
            child = sql.make_qualified_table_name(child_name)
            # Load ids are the load's Unix time as text, all with ten digits before the point until
            # 2286: compared as text, the newer is the greater, to the microsecond.
            sql.execute_sql(
                f"DELETE FROM {child} WHERE EXISTS (SELECT 1 FROM {parent} p WHERE "
                f"p.{BUSINESS_ID} = {child}.{BUSINESS_ID} AND p.{ID} = {child}.{PARENT_ID} "
                f"AND p.{LOAD_ID} > {child}.{LOAD_ID})"
            )


def apply_deletions_to_files(pipeline: dlt.Pipeline, hard_delete: bool = False) -> None:
    """After a load into Delta tables: lists replaced whole, then the deletions marked (or made)."""
    with DeltaSql(pipeline) as sql:
        replace_children(sql)
        mark_deletions(sql, pipeline.default_schema, hard_delete)
