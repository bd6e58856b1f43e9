"""A token store many workers on many hosts share: one PostgreSQL row per connection, a row lock.

Sage rotates the refresh token on every refresh and revokes the whole chain when a spent one is
presented again, so two workers must never refresh one connection's chain with the same token.
A file lock cannot reach another host; a row lock can. :meth:`PostgresTokenStore.lock` is one
transaction that first makes sure the connection has a row (``INSERT … ON CONFLICT DO NOTHING``,
so there is always something to lock) and then holds ``SELECT … FOR UPDATE`` on it: a second
worker waits there, and once it has the row it re-reads it (:class:`~sage_source.auth.TokenManager`
does) and finds the token the first one committed. :meth:`PostgresPendingSave.commit` writes the
rotated set and commits, before the new access token is used. Rows of other connections are
never locked or written.

A refresh Sage refuses (``invalid_grant``) marks the row ``needs_reconsent``; :meth:`load` then
refuses it (:class:`ReauthorizationError`) without a word to Sage, so that connection stops and
the others go on. A new consent (``sage-pipeline auth``: its code exchange commits a new set)
clears the mark.

Nothing is left half-done: a transaction commits whole or not at all, so :meth:`recover` has
nothing to do. What no store can cover: the database failing between Sage's answer and the
commit loses the new set, and the error says so. Each lock or read opens its own short
connection (refreshes are minutes apart), so forked workers never share one.

This module needs psycopg2 (the ``postgres`` extra); :func:`sage_source.token_store.open_token_store`
imports it only when ``token_store_credentials`` is set, so a DuckDB-only install that keeps its
tokens in a file never needs it. Tokens never appear in a message or a ``repr``; the
database URL appears without its password.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from types import TracebackType

import psycopg2
import psycopg2.errors
from psycopg2.extensions import connection as PgConnection  # noqa: N812 (a class, named as one)

from sage_source.errors import (
    ReauthorizationError,
    SageSourceError,
    TokenStoreInvalidError,
    TokenStoreUnavailableError,
)
from sage_source.pg import close, connect, create_once, first_line, parse_url, without_password
from sage_source.tokens import NOTHING_SENT, TokenSet, parse_token_set

log = logging.getLogger(__name__)

SCHEMA = "sage_tokens"
TABLE = f"{SCHEMA}.sage_token_chains"
_CREATE = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        connection text PRIMARY KEY,
        token_set jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        saves bigint NOT NULL DEFAULT 0,
        needs_reconsent boolean NOT NULL DEFAULT false,
        reconsent_reason text
    )""",
)
# How long a worker may hold its connection's row doing nothing in the database: a refresh is one
# POST (``request_timeout``, 60 s by default) inside the lock. A host that vanishes while holding it
# (a network partition or a frozen VM: its socket stays open) would otherwise block that connection
# until the server's TCP keepalive notices, two hours by default; past this the server ends its
# session and the row is free. A killed process is noticed at once (its socket closes).
HOLD_LIMIT_SECONDS = 180.0


class PostgresTokenStore:
    """``connection_name``'s token chain in the database at ``url`` (a libpq URL or DSN)."""

    def __init__(self, url: str, connection_name: str, hold_limit: float = HOLD_LIMIT_SECONDS) -> None:
        parts = parse_url(url)
        if parts is None:
            raise SageSourceError(
                "token_store_credentials is not a PostgreSQL URL: give postgresql://user:password@host:5432/db"
            )
        self._url = url
        self.connection_name = connection_name
        self._where = without_password(parts)
        self._hold_limit_ms = str(int(hold_limit * 1000))
        self._held = threading.local()  # the locking transaction's connection, per thread
        self._table_ready = False

    @property
    def location(self) -> str:
        return f"the PostgreSQL token store {self._where} (connection {self.connection_name!r})"

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self._where}, connection={self.connection_name!r})"

    @contextmanager
    def lock(self, timeout: float = 120) -> Iterator[None]:
        connection = self._connect()
        try:
            try:
                self._ensure_table(connection)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(timeout * 1000)}",))
                    cursor.execute(
                        "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                        (self._hold_limit_ms,),
                    )
                    cursor.execute(
                        f"INSERT INTO {TABLE} (connection) VALUES (%s) ON CONFLICT DO NOTHING",
                        (self.connection_name,),
                    )
                    cursor.execute(
                        f"SELECT 1 FROM {TABLE} WHERE connection = %s FOR UPDATE", (self.connection_name,)
                    )
            except psycopg2.errors.LockNotAvailable:
                raise TokenStoreUnavailableError(
                    f"another worker has held {self.location} for over {timeout:.0f} s; {NOTHING_SENT}"
                ) from None
            except psycopg2.Error as error:
                raise self._failed(error, NOTHING_SENT) from None
            self._held.connection = connection
            yield
        finally:
            self._held.connection = None
            close(connection)  # rolls back whatever was not committed, releasing the row

    def load(self) -> TokenSet | None:
        """The connection's set; None when it has no row or no set yet. A row marked
        ``needs_reconsent`` raises :class:`ReauthorizationError`: its chain is dead."""
        held: PgConnection | None = getattr(self._held, "connection", None)
        connection = held or self._connect()
        try:
            if held is None:
                self._ensure_table(connection)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT token_set::text, needs_reconsent, reconsent_reason FROM {TABLE} "
                    "WHERE connection = %s",
                    (self.connection_name,),
                )
                row = cursor.fetchone()
        except psycopg2.Error as error:
            raise self._failed(error, NOTHING_SENT) from None
        finally:
            if held is None:
                close(connection)
        if row is None:
            return None
        data, needs_reconsent, reason = row
        if needs_reconsent:
            raise ReauthorizationError(
                f"connection {self.connection_name!r} needs a new consent: {reason}", self.connection_name
            )
        if data is None:
            return None
        try:
            return parse_token_set(str(data).encode())
        except ValueError as error:
            raise TokenStoreInvalidError(self.location, str(error)) from None

    def reserve(self, unsent: str = NOTHING_SENT) -> PostgresPendingSave:
        """The row is locked and the connection to the database is open: that is the room."""
        return PostgresPendingSave(self, self._holding())

    def save(self, tokens: TokenSet) -> None:
        with self.lock(), self.reserve() as pending:
            pending.commit(tokens)

    def recover(self) -> None:
        """Nothing to finish: a save is one transaction, committed whole or not at all."""

    def mark_needs_reconsent(self, reason: str) -> None:
        """Record that Sage refused the chain and commit. Failing to record it is logged, not raised:
        the refusal the caller is about to raise says more."""
        connection = self._holding()
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {TABLE} SET needs_reconsent = true, reconsent_reason = %s, updated_at = now() "
                    "WHERE connection = %s",
                    (reason, self.connection_name),
                )
            connection.commit()
        except psycopg2.Error as error:
            log.warning("could not mark %s as needing a new consent: %s", self.location, first_line(error))
        else:
            log.warning("%s needs a new consent (%s); the other connections go on", self.location, reason)

    def _holding(self) -> PgConnection:
        connection: PgConnection | None = getattr(self._held, "connection", None)
        if connection is None:
            raise RuntimeError("the token store's row is not locked: call this under lock()")
        return connection

    def _connect(self) -> PgConnection:
        try:
            # The process id in the name tells an operator (pg_stat_activity) which worker holds a row.
            return connect(self._url, f"sage_accounting tokens (pid {os.getpid()})")
        except psycopg2.Error as error:
            raise self._failed(error, NOTHING_SENT) from None

    def _ensure_table(self, connection: PgConnection) -> None:
        """Create the schema and table once per store; an advisory lock keeps workers starting
        together from racing on ``CREATE … IF NOT EXISTS`` (which is not safe concurrently)."""
        if not self._table_ready:
            create_once(connection, TABLE, _CREATE)
            self._table_ready = True

    def _failed(self, error: Exception, consequence: str) -> TokenStoreUnavailableError:
        return TokenStoreUnavailableError(f"{self.location} failed ({first_line(error)}); {consequence}")


@dataclass(frozen=True)
class StoredConnection:
    """One row of the store as ``sage-pipeline connections`` shows it: never its tokens."""

    name: str
    has_tokens: bool
    needs_reconsent: bool
    reason: str | None
    saved_at: datetime


def connection_rows(url: str) -> list[StoredConnection]:
    """Every connection the store at ``url`` holds, by name; none when its table is not made yet."""
    store = PostgresTokenStore(url, "")
    connection = store._connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,))
            made = cursor.fetchone()
            if not (made and made[0]):
                return []
            cursor.execute(
                f"SELECT connection, token_set IS NOT NULL, needs_reconsent, reconsent_reason, updated_at "
                f"FROM {TABLE} ORDER BY connection"
            )
            return [StoredConnection(*row) for row in cursor.fetchall()]
    except psycopg2.Error as error:
        raise store._failed(error, "the connections it holds could not be listed") from None
    finally:
        close(connection)


class PostgresPendingSave:
    """``commit`` writes the set into the locked row and commits the transaction (releasing it)."""

    def __init__(self, store: PostgresTokenStore, connection: PgConnection) -> None:
        self.store = store
        self._connection = connection

    def commit(self, tokens: TokenSet) -> None:
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {TABLE} SET token_set = %s::jsonb, saves = saves + 1, updated_at = now(), "
                    "needs_reconsent = false, reconsent_reason = NULL WHERE connection = %s",
                    (json.dumps(asdict(tokens)), self.store.connection_name),
                )
            self._connection.commit()
        except psycopg2.Error as error:
            raise self.store._failed(
                error,
                "Sage has issued new tokens that could not be stored, so the chain is lost: run "
                "`sage-pipeline auth` for this connection",
            ) from None

    def __enter__(self) -> PostgresPendingSave:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Nothing to clean up: leaving the lock rolls back what was not committed."""
