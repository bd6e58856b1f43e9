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

import logging
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import dlt
import duckdb
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError
from dlt.common.destination.client import SupportsOpenTables
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from sage_source.deletions import loaded_tables, mark_deletions
from sage_source.settings import ENDPOINTS
from sage_source.tables import BUSINESS_ID, ID, LOAD_ID, PARENT_ID, child_table

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

    Used as dlt's is (``with DeltaSql(pipeline) as sql: sql.execute_sql(...)``); changed tables are
    written back when the block ends without an error, and not at all when it fails."""

    def __init__(self, pipeline: dlt.Pipeline) -> None:
        self.pipeline = pipeline
        self.dataset_name = pipeline.dataset_name
        self._client: Any = None
        self._db: duckdb.DuckDBPyConnection | None = None
        self._tables: dict[str, DeltaTable | None] = {}  # None: no files yet
        self._names: dict[str, str] = {}  # qualified name -> table name
        self._viewed: set[str] = set()  # a view over the Delta table's files
        self._copied: set[str] = set()  # copied into DuckDB, to be changed there
        self._changed: set[str] = set()  # changed there: written back

    def __enter__(self) -> DeltaSql:
        self._client = self.pipeline.destination_client()
        if not isinstance(self._client, SupportsOpenTables):
            raise TypeError(f"{self.pipeline.destination} holds no open tables to read as Delta")
        self._db = _connect(self.dataset_name)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self._write_back()
        finally:
            if self._db is not None:
                self._db.close()
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

    def make_qualified_table_name(self, name: str, quote: bool = True) -> str:
        """The table's name in SQL; its view is made on first use (an unwritten table has none, and
        a query of it raises :class:`DatabaseUndefinedRelation`, as dlt's clients do)."""
        qualified = f"{_quoted(self.dataset_name)}.{_quoted(name)}"
        self._names[qualified] = name
        table = self._table(name)
        if table is not None and name not in self._viewed:
            _view(self.db, self.dataset_name, name, table)
            self._viewed.add(name)
        return qualified

    def execute_sql(self, sql: str, *args: Any) -> list[tuple[Any, ...]] | None:
        written = _WRITES.match(sql)
        name = self._names.get(written.group(1)) if written else None
        if name is not None:
            self._copy(name)
        try:
            cursor = self.db.execute(sql.replace("%s", "?"), list(args))
        except duckdb.CatalogException as error:
            raise DatabaseUndefinedRelation(error) from error
        rows = cursor.fetchall() if cursor.description else None
        if name is not None and rows and rows[0][0]:  # UPDATE and DELETE answer with the rows changed
            self._changed.add(name)
        return rows

    def _table(self, name: str) -> DeltaTable | None:
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
        for name in sorted(self._changed):
            table = self._tables[name]
            assert table is not None  # only a table with files has a view to copy
            rows = self.db.sql(f"SELECT * FROM {_quoted(self.dataset_name)}.{_quoted(name)}").to_arrow_table()
            write_deltalake(table, rows, mode="overwrite")
            log.info("%s: %d rows written back (Delta version %d)", name, len(rows), table.version())


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
