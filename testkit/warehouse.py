"""The warehouse against the sandbox's ground truth, row for row and value for value.

The expected tables are built here from the sandbox's own rows (``Sandbox.ground_truth``) with
plain Python: objects flattened into ``a__b`` columns, ``$path`` dropped, the documented lists
as child tables keyed ``(business_id, parent_id, _dlt_list_idx)``, other lists as JSON. Values
are compared by the warehouse column's type: money as ``Decimal`` (exact), dates, UTC instants.
Nothing of the source's own shaping code is used, so a shared mistake cannot hide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

import duckdb
import psycopg2
from dlt.common.configuration.container import Container
from dlt.common.schema import Schema
from dlt.destinations import postgres

from sage_sandbox import Sandbox
from sage_source.settings import ENDPOINTS

CHILDREN = {e.name: e.children for e in ENDPOINTS}
FLAGGED = {e.name for e in ENDPOINTS if e.deleted_flag}  # deleted rows stay listed, flagged
OURS = ("business_id", "is_deleted", "parent_id", "_dlt_list_idx")  # columns the source adds
Key = tuple[Any, ...]


def flatten(value: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    for name, item in value.items():
        if name == "$path":
            continue
        if isinstance(item, dict):
            flatten(item, f"{prefix}{name}__", out)
        else:
            out[f"{prefix}{name}"] = item
    return out


def expected_tables(
    resource: str, rows: Iterable[dict[str, Any]], business_id: str
) -> dict[str, dict[Key, dict]]:
    """``{table: {key: row}}`` for one business's rows of one resource."""
    children = CHILDREN.get(resource, ())
    parents: dict[Key, dict[str, Any]] = {}
    kids: dict[str, dict[Key, dict[str, Any]]] = {f"{resource}__{c}": {} for c in children}
    for row in rows:
        flat = flatten({k: v for k, v in row.items() if k not in children})
        flat["business_id"] = business_id
        if resource == "financial_settings":
            flat["id"] = business_id
        if resource == "businesses":
            flat["business_id"] = flat["id"]
        parents[(flat["business_id"], flat["id"])] = flat
        for child in children:
            for index, item in enumerate(row.get(child) or []):
                line = flatten(item) if isinstance(item, dict) else {"value": item}
                line.update(business_id=business_id, parent_id=row["id"], _dlt_list_idx=index)
                kids[f"{resource}__{child}"][(business_id, row["id"], index)] = line
    return {resource: parents, **kids}


class Warehouse:
    """A DuckDB dataset, read the way the comparison needs: tables, column types, rows."""

    def __init__(self, database: Path, dataset: str = "sage") -> None:
        self.db = duckdb.connect(str(database), read_only=True)
        self.dataset = dataset

    @classmethod
    def over(cls, db: duckdb.DuckDBPyConnection, dataset: str = "sage") -> Warehouse:
        """A warehouse read through a DuckDB connection already open (e.g. views over Delta tables)."""
        warehouse = cls.__new__(cls)
        warehouse.db, warehouse.dataset = db, dataset
        return warehouse

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cursor = self.db.execute(sql, params)
        return [d[0] for d in cursor.description or []], cursor.fetchall()

    def column(self, name: str) -> str:
        """The column the destination made for Sage's field ``name`` (DuckDB: the name itself)."""
        return name

    def tables(self) -> set[str]:
        _, rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [self.dataset]
        )
        return {r[0] for r in rows}

    def types(self, table: str) -> dict[str, str]:
        """Column → type, in DuckDB's words (DECIMAL(38,9), TIMESTAMP WITH TIME ZONE, JSON, ...)."""
        _, rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [self.dataset, table],
        )
        return dict(rows)

    def rows(self, table: str, where: str = "TRUE", params: list[Any] | None = None) -> list[dict[str, Any]]:
        names, rows = self.query(f'SELECT * FROM "{self.dataset}"."{table}" WHERE {where}', params or [])
        return [dict(zip(names, values, strict=True)) for values in rows]

    def count(self, table: str, where: str = "TRUE", params: list[Any] | None = None) -> int:
        _, rows = self.query(f'SELECT count(*) FROM "{self.dataset}"."{table}" WHERE {where}', params or [])
        return int(rows[0][0]) if rows else 0


# PostgreSQL's information_schema type names in DuckDB's words, so one comparison reads both.
_POSTGRES_TYPES = {
    "numeric": "DECIMAL",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "jsonb": "JSON",
    "json": "JSON",
    "character varying": "VARCHAR",
    "text": "VARCHAR",
    "date": "DATE",
    "boolean": "BOOLEAN",
    "bigint": "BIGINT",
    "double precision": "DOUBLE",
}


class PostgresWarehouse(Warehouse):
    """A PostgreSQL dataset (schema) read like a DuckDB one: ``?`` parameters, DuckDB type names, and
    Sage's long field names mapped to the 63-character ones dlt made (its naming convention's)."""

    def __init__(self, url: str, dataset: str = "sage") -> None:
        self.pg = psycopg2.connect(url)
        self.pg.autocommit = True
        self.dataset = dataset
        with Container().injectable_context(postgres().capabilities()):
            self.naming = Schema("sage").naming

    def close(self) -> None:
        self.pg.close()

    def query(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.pg.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            if cursor.description is None:  # a statement that returns no rows
                return [], []
            return [d[0] for d in cursor.description], cursor.fetchall()

    def column(self, name: str) -> str:
        return str(self.naming.normalize_path(name))

    def types(self, table: str) -> dict[str, str]:
        return {name: _POSTGRES_TYPES.get(kind, kind) for name, kind in super().types(table).items()}


def mismatches(
    warehouse: Warehouse,
    sandbox: Sandbox,
    business_ids: Iterable[str] | None = None,
    resources: Iterable[str] | None = None,
    hard_delete: bool = False,
) -> list[str]:
    """Every difference between the warehouse and the sandbox's books (empty: equal).

    ``hard_delete``: rows Sage lists as ``deleted: true`` are expected to be gone.
    """
    problems: list[str] = []
    present = warehouse.tables()
    wanted = set(resources) if resources is not None else None
    for business_id in business_ids or sandbox.business_ids:
        truth = sandbox.ground_truth(business_id)
        for resource, listed in truth.items():
            if wanted is not None and resource not in wanted:
                continue
            rows = [r for r in listed if not r["deleted"]] if hard_delete and resource in FLAGGED else listed
            for table, expected in expected_tables(resource, rows, business_id).items():
                if table not in present:
                    if expected:
                        problems.append(
                            f"{table}: missing from the warehouse ({len(expected)} rows expected)"
                        )
                    continue
                problems.extend(_compare_table(warehouse, table, resource, expected, business_id))
    return problems


def _compare_table(
    warehouse: Warehouse, table: str, resource: str, expected: dict[Key, dict], business_id: str
) -> list[str]:
    types = warehouse.types(table)
    child = "parent_id" in types
    actual = {
        _key(row, child): row
        for row in warehouse.rows(table, _live_rows(warehouse, table, resource, types), [business_id])
    }
    problems = []
    for key in expected.keys() - actual.keys():
        problems.append(f"{table} {key}: in Sage, not in the warehouse")
    for key in actual.keys() - expected.keys():
        problems.append(f"{table} {key}: in the warehouse, not in Sage")
    for key in expected.keys() & actual.keys():
        want = {warehouse.column(name): value for name, value in expected[key].items()}
        problems.extend(_row_problems(table, resource, types, key, want=want, got=actual[key]))
    return problems


def _live_rows(warehouse: Warehouse, table: str, resource: str, types: dict[str, str]) -> str:
    """The WHERE clause for a business's rows Sage still lists (the books hold no deleted ones)."""
    where = "business_id = ?"
    if "parent_id" in types:  # children of parents that are still live
        parent = table.split("__", 1)[0]
        return where + (
            f' AND EXISTS (SELECT 1 FROM "{warehouse.dataset}"."{parent}" p WHERE p.business_id = '
            f'"{table}".business_id AND p.id = "{table}".parent_id AND NOT p.is_deleted)'
        )
    if "is_deleted" in types and resource not in FLAGGED:
        where += " AND NOT is_deleted"  # rows Sage deleted stay, marked; the books do not list them
    return where


def _row_problems(
    table: str, resource: str, types: dict[str, str], key: Key, *, want: dict[str, Any], got: dict[str, Any]
) -> list[str]:
    """How one stored row differs from Sage's: fields with no column, the deleted flag, each value."""
    problems = []
    unknown = [c for c, v in want.items() if c not in types and v not in (None, [])]
    if unknown:
        problems.append(f"{table} {key}: Sage fields with no column: {unknown[:5]}")
    flagged = resource in FLAGGED
    if flagged:  # our is_deleted/deleted_at follow Sage's flag and updated_at
        problems.extend(_flag_problems(table, key, bool(want["deleted"]), got))
    for column, kind in types.items():
        ours = column.startswith(("_dlt_", "_sage_")) or column == "is_deleted"
        if ours or (column == "deleted_at" and flagged):
            continue
        if not same(kind, want.get(column), got[column]):
            problems.append(f"{table} {key}.{column}: Sage {want.get(column)!r}, warehouse {got[column]!r}")
    return problems


def _flag_problems(table: str, key: Key, deleted: bool, got: dict[str, Any]) -> list[str]:
    stamp = got["updated_at"] if deleted else None
    if got["is_deleted"] == deleted and got["deleted_at"] == stamp:
        return []
    return [f"{table} {key}: Sage deleted={deleted}, warehouse {got['is_deleted']} at {got['deleted_at']}"]


def _key(row: dict[str, Any], child: bool) -> Key:
    if child:
        return (row["business_id"], row["parent_id"], row["_dlt_list_idx"])
    return (row["business_id"], row["id"])


def same(kind: str, sage: Any, stored: Any) -> bool:
    """Sage's JSON value and the warehouse's typed value are the same thing."""
    # A list is JSON in a database and a typed list (``STRUCT(...)[]``) in Delta files: same values.
    family = (
        "JSON"
        if kind.endswith("[]")
        else next((f for f in ("DECIMAL", "TIMESTAMP") if kind.startswith(f)), kind)
    )
    if sage is None or stored is None:
        if family == "JSON" and not sage and not stored:
            return True  # an empty list where Sage sends none, or none where it sends []
        return sage is None and stored is None
    equal = _SAME_BY_TYPE.get(family)
    if equal is not None:
        return equal(sage, stored)
    return bool(sage == stored and type(sage) is type(stored))


def _same_json(sage: Any, stored: Any) -> bool:
    return bool(_plain(sage) == _plain(json.loads(stored) if isinstance(stored, str) else stored))


# How a Sage value compares with the warehouse's, by column type (DECIMAL(p,s), TIMESTAMP* by family).
_SAME_BY_TYPE: dict[str, Callable[[Any, Any], bool]] = {
    "DECIMAL": lambda sage, stored: isinstance(stored, Decimal) and Decimal(str(sage)) == stored,
    "DATE": lambda sage, stored: isinstance(stored, date) and date.fromisoformat(sage) == stored,
    "TIMESTAMP": lambda sage, stored: (
        isinstance(stored, datetime) and datetime.fromisoformat(sage.replace("Z", "+00:00")) == stored
    ),
    "JSON": _same_json,
    "VARCHAR": lambda sage, stored: isinstance(stored, str) and str(sage) == stored,
}


def _plain(value: Any) -> Any:
    """JSON without nulls and ``$path``: the reader keeps every documented key, Sage omits some."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None and k != "$path"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def snapshot(database: Path) -> dict[str, int]:
    """Rows per table in every schema of the DuckDB file (``_dlt_loads`` counts the loads)."""
    with duckdb.connect(str(database), read_only=True) as db:
        tables = db.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()
        counts: dict[str, int] = {}
        for schema, table in tables:
            row = db.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else -1
    return counts
