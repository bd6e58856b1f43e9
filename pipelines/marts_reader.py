"""Read the dbt marts from the warehouse: a DuckDB file or a PostgreSQL database, through one seam.

``sage-pipeline notebook`` (checking the businesses before a kernel starts) and the notebook itself
read the marts through :func:`open_marts`, so each query is written once. A warehouse is named by a
string that holds no secret — a DuckDB file's path, or a PostgreSQL URL without its password
(``postgresql://loader@db:5432/sage?sslmode=require``) — because it becomes a notebook parameter,
which papermill writes into the executed notebook. PostgreSQL's password travels apart: given to
:func:`open_marts`, or else read by libpq from ``PGPASSWORD`` (how the notebook's kernel gets it).

Queries are in the SQL both databases speak, with DuckDB's ``$name`` parameters; for PostgreSQL
they become psycopg2's ``%(name)s``. A parameter the SQL does not name is ignored by both. Rows come
back as an Arrow table from either, so money stays ``Decimal`` (DuckDB's DECIMAL, PostgreSQL's
numeric), dates stay dates and counts integers.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_PARAMETER = re.compile(r"\$([A-Za-z_]\w*)")  # DuckDB's named parameter: $business


class Marts(Protocol):
    def query(self, sql: str, **params: object) -> pa.Table:
        """The rows of ``sql`` (``$name`` parameters bound from ``params``) as an Arrow table."""
        ...

    def close(self) -> None: ...


def read_errors() -> tuple[type[Exception], ...]:
    """What reading the marts can raise besides a missing file: each installed database's own errors
    (psycopg2 comes with the ``postgres`` extra)."""
    errors: list[type[Exception]] = [duckdb.Error]
    with contextlib.suppress(ImportError):
        import psycopg2  # noqa: PLC0415

        errors.append(psycopg2.Error)
    return tuple(errors)


def is_postgres(database: str) -> bool:
    return database.startswith(_POSTGRES_SCHEMES)


def open_marts(database: str, password: str | None = None) -> Marts:
    """Connect, read-only, to ``database``: a PostgreSQL URL, else a DuckDB file's path."""
    if is_postgres(database):
        return _PostgresMarts(database, password)
    return _DuckDBMarts(Path(database))


class _DuckDBMarts:
    def __init__(self, path: Path) -> None:
        if not path.is_file():  # DuckDB would make an empty database in its place
            raise FileNotFoundError(f"no DuckDB file at {path.resolve()}")
        self._con = duckdb.connect(str(path), read_only=True)

    def query(self, sql: str, **params: object) -> pa.Table:
        # DuckDB refuses a parameter the SQL does not name; psycopg2 ignores it: ignore it here too.
        named = set(_PARAMETER.findall(sql))
        used = {name: value for name, value in params.items() if name in named}
        return self._con.sql(sql, params=used or None).to_arrow_table()

    def close(self) -> None:
        self._con.close()


class _PostgresMarts:
    def __init__(self, url: str, password: str | None) -> None:
        import psycopg2  # noqa: PLC0415 (the postgres extra's; DuckDB users need not install it)

        # Without a password libpq looks for one itself: PGPASSWORD, then ~/.pgpass.
        self._con = psycopg2.connect(url, password=password)  # psycopg2 leaves out a None
        self._con.set_session(readonly=True, autocommit=True)

    def query(self, sql: str, **params: object) -> pa.Table:
        with self._con.cursor() as cursor:
            # psycopg2 formats with %: a literal % in the SQL is written %% for it.
            cursor.execute(_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%")), params)
            names = [column.name for column in cursor.description or ()]
            rows = cursor.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        # Arrow infers each column's type from psycopg2's values: numeric is Decimal, date is date.
        return pa.Table.from_arrays([pa.array(values) for values in columns], names=names)

    def close(self) -> None:
        self._con.close()
