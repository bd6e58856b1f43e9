"""What the PostgreSQL-backed parts (the token store, the request budget) share: connecting,
creating their tables once, and saying what went wrong without a password or a value.

This module needs psycopg2 (the ``postgres`` extra); only the PostgreSQL-backed modules import it.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg2
import psycopg2.extensions
from psycopg2.extensions import connection as PgConnection  # noqa: N812 (a class, named as one)

CONNECT_TIMEOUT_SECONDS = 10


def parse_url(url: str) -> dict[str, str] | None:
    """The parts of a libpq URL or DSN; None when it is neither."""
    try:
        return psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        return None


def without_password(parts: dict[str, str]) -> str:
    """``postgresql://user@host:port/db`` from a parsed URL, for messages."""
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = parts.get("host", "")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname', '')}"


def first_line(error: Exception) -> str:
    """The error's first line: PostgreSQL's DETAIL lines may quote a value, so they are left out."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def connect(url: str, application_name: str) -> PgConnection:
    """A new connection (psycopg2's errors pass through: each caller says what they cost)."""
    return psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name=application_name)


def create_once(connection: PgConnection, table: str, statements: Iterable[str]) -> None:
    """Run ``statements`` (``CREATE … IF NOT EXISTS``) unless ``table`` exists, and commit. An advisory
    lock keeps workers starting together from racing on them (``IF NOT EXISTS`` is not safe
    concurrently)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        exists = cursor.fetchone()
        if not (exists and exists[0]):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
            for statement in statements:
                cursor.execute(statement)
    connection.commit()


def close(connection: PgConnection) -> None:
    """Roll back whatever was not committed (releasing its locks) and close."""
    try:
        connection.rollback()
        connection.close()
    except psycopg2.Error:
        connection.close()
