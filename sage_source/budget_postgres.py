"""One request budget for an app, shared by every worker on every host through PostgreSQL.

Sage counts requests per app (``client_id``), however many processes and hosts send them, so a
budget per process lets four workers send four times the allowance. Here each request is a row of
``sage_budget.requests`` (in the token store's database), keyed by the app, and taking a slot is
one short transaction under ``SELECT … FOR UPDATE`` on the app's row of ``sage_budget.apps``
(which holds the shared pause and the day's count): it reads the app's usage by the database's
clock (``clock_timestamp()``: the hosts' clocks may disagree), and either inserts the request's
row and commits, or rolls back and sleeps until there could be room. No transaction is held
across an HTTP request: the slot is given back with one autocommitted ``UPDATE`` of its row.

The rules are :mod:`sage_source.limiter`'s, app-wide:

* a request counts against the sliding window from when it *finishes* (``finished_at``), and
  requests in flight count too, so the app's window is always at least as full as Sage's;
* at most ``app_concurrency`` in flight for the app, and ``concurrency`` for this process (a
  semaphore, before the database is asked);
* at most ``per_day`` taken per UTC day (a counter on the app's row; the day is the database's);
* a 429 with ``Retry-After`` that any worker meets is recorded as ``paused_until`` on the app's
  row, and every worker's next slot waits until then: the app backs off together.

A worker that dies holding a slot never gives it back; each slot has a lease (two request
timeouts and a margin) after which it counts as finished at the lease's end. A wait longer than
``max_wait`` (a pause for the day's quota) raises instead of sleeping for hours, as the client
does for such a ``Retry-After``. Every worker of an app should use the same limits and window: each
enforces its own against the shared rows.

Each process keeps at most ``concurrency`` idle connections (a worker's threads take turns), so
many workers mean many connections: put a pooler in transaction mode in front if they are too many
(no session state is used). A process forked with idle connections leaves them to its parent.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg2
from psycopg2.extensions import connection as PgConnection  # noqa: N812 (a class, named as one)

from sage_source.budget import MAX_WAIT_SECONDS, BudgetLimits
from sage_source.errors import RequestBudgetUnavailableError, SageApiError, SageSourceError
from sage_source.limiter import check_limits
from sage_source.pg import close, connect, create_once, first_line, parse_url, without_password

log = logging.getLogger(__name__)

SCHEMA = "sage_budget"
APPS = f"{SCHEMA}.apps"
REQUESTS = f"{SCHEMA}.requests"
_CREATE = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {APPS} (
        app text PRIMARY KEY,
        paused_until timestamptz,
        day date,
        day_used bigint NOT NULL DEFAULT 0
    )""",
    f"""CREATE TABLE IF NOT EXISTS {REQUESTS} (
        id bigserial PRIMARY KEY,
        app text NOT NULL,
        taken_at timestamptz NOT NULL,
        lease_until timestamptz NOT NULL,
        finished_at timestamptz
    )""",
    f"CREATE INDEX IF NOT EXISTS requests_by_app ON {REQUESTS} (app)",
)
# How the app's rows stand at the database's ``now``. A request is *done* when it finished or
# its lease ended; it then counts in the window until ``window`` after that end.
_USAGE = f"""
    SELECT n.now,
        count(r.id) FILTER (WHERE coalesce(r.finished_at, r.lease_until) > n.now - n.span),
        count(r.id) FILTER (WHERE r.finished_at IS NULL AND r.lease_until > n.now),
        min(coalesce(r.finished_at, r.lease_until)) FILTER (
            WHERE (r.finished_at IS NOT NULL OR r.lease_until <= n.now)
            AND coalesce(r.finished_at, r.lease_until) > n.now - n.span),
        min(r.lease_until) FILTER (WHERE r.finished_at IS NULL AND r.lease_until > n.now)
    FROM (SELECT clock_timestamp() AS now, make_interval(secs => %(window)s) AS span) AS n
    LEFT JOIN {REQUESTS} AS r ON r.app = %(app)s
    GROUP BY n.now, n.span
"""
# While the app's in-flight requests fill a limit, one of them may finish any moment: look again
# this soon (with jitter, so waiting workers do not all come at once).
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Usage:
    now: datetime
    paused_until: datetime | None
    day: date | None
    day_used: int
    in_window: int  # finished, or in flight, within the window
    in_flight: int
    oldest_done: datetime | None  # the earliest end still in the window
    first_lease_end: datetime | None


@dataclass(frozen=True)
class _Wait:
    seconds: float
    why: str
    kind: str  # pause | day (over max_wait these fail instead) | flight | window

    @property
    def hard(self) -> bool:
        return self.kind in ("pause", "day")


class PostgresRequestBudget:
    """The app ``app``'s budget in the database at ``url`` (a libpq URL or DSN)."""

    def __init__(
        self, url: str, app: str, limits: BudgetLimits, *, max_wait: float = MAX_WAIT_SECONDS
    ) -> None:
        check_limits(limits.per_minute, limits.concurrency)
        parts = parse_url(url)
        if parts is None:
            raise SageSourceError(
                "token_store_credentials is not a PostgreSQL URL: give postgresql://user:password@host:5432/db"
            )
        self._url = url
        self.app = app
        self.limits = limits
        self.max_wait = max_wait
        self._where = without_password(parts)
        self._slots = threading.BoundedSemaphore(limits.concurrency)
        self._idle: list[PgConnection] = []
        self._inherited: list[PgConnection] = []  # a parent's, after a fork: never used nor closed
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._table_ready = False
        self.waited = 0.0  # seconds spent waiting for room (for logs and benchmarks)
        self.paused = 0.0  # of which waiting out a 429's Retry-After (this worker's or another's)

    @property
    def location(self) -> str:
        return f"the request budget in {self._where} (app {self.app!r})"

    def __repr__(self) -> str:
        return f"PostgresRequestBudget({self._where}, app={self.app!r})"

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            taken = self._take()
            try:
                yield
            finally:
                self._give_back(taken)

    def pause(self, seconds: float) -> None:
        """Every worker of the app holds back until ``seconds`` from now (the database's now); a
        longer pause already recorded stands. Failing to record it is logged: the 429's own retry
        waits anyway."""
        statement = (
            f"INSERT INTO {APPS} AS a (app, paused_until) "
            "VALUES (%s, clock_timestamp() + make_interval(secs => %s)) "
            "ON CONFLICT (app) DO UPDATE SET paused_until = greatest(a.paused_until, excluded.paused_until)"
        )
        try:
            with self._connection() as connection, connection.cursor() as cursor:
                cursor.execute(statement, (self.app, seconds))
                connection.commit()
        except RequestBudgetUnavailableError as error:
            log.warning("could not pause the app's other workers: %s", error)
        else:
            log.info("Sage asked for a %.0f s pause: every worker of app %r waits", seconds, self.app)

    def close(self) -> None:
        """Close the idle connections (a slot taken or given back afterwards opens a new one)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            close(connection)

    # -- taking and giving back -----------------------------------------------------------------

    def _take(self) -> int:
        """Wait for room, then record a request in flight; its row's id."""
        while True:
            with self._connection() as connection:
                taken, wait = self._try_take(connection)
            if taken is not None:
                return taken
            assert wait is not None
            if wait.hard and wait.seconds > self.max_wait:
                raise SageApiError(
                    f"{wait.why}: {wait.seconds:.0f}s, longer than max_wait ({self.max_wait:.0f}s). "
                    "Run again later; nothing was lost.",
                    429,
                )
            with self._lock:
                self.waited += wait.seconds
                if wait.kind == "pause":
                    self.paused += wait.seconds
            time.sleep(wait.seconds)

    def _try_take(self, connection: PgConnection) -> tuple[int | None, _Wait | None]:
        """One transaction: lock the app's row, read the usage; take a slot, or say how long to wait."""
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {APPS} (app) VALUES (%s) ON CONFLICT DO NOTHING", (self.app,))
            cursor.execute(
                f"SELECT paused_until, day, day_used FROM {APPS} WHERE app = %s FOR UPDATE", (self.app,)
            )
            paused_until, day, day_used = cursor.fetchone() or (None, None, 0)
            window = self.limits.window
            cursor.execute(
                f"DELETE FROM {REQUESTS} WHERE app = %s "
                "AND coalesce(finished_at, lease_until) <= clock_timestamp() - make_interval(secs => %s)",
                (self.app, window),
            )
            cursor.execute(_USAGE, {"window": window, "app": self.app})
            row = cursor.fetchone()
            assert row is not None  # one group: the LEFT JOIN keeps ``now``
            usage = _Usage(row[0], paused_until, day, day_used, *row[1:])
            wait = self._wait_for(usage)
            if wait is not None:
                connection.rollback()
                return None, wait
            today = usage.now.astimezone(UTC).date()
            cursor.execute(
                f"INSERT INTO {REQUESTS} (app, taken_at, lease_until) "
                "VALUES (%s, %s, %s + make_interval(secs => %s)) RETURNING id",
                (self.app, usage.now, usage.now, self.limits.lease),
            )
            found = cursor.fetchone()
            assert found is not None
            cursor.execute(
                f"UPDATE {APPS} SET day = %s, day_used = CASE WHEN day = %s THEN day_used + 1 ELSE 1 END "
                "WHERE app = %s",
                (today, today, self.app),
            )
        connection.commit()
        return int(found[0]), None

    def _wait_for(self, usage: _Usage) -> _Wait | None:
        """None when there is room now; else how long until there could be."""
        limits, now = self.limits, usage.now
        if usage.paused_until is not None and usage.paused_until > now:
            return _Wait(_seconds(usage.paused_until - now), "paused by a 429 (Retry-After)", "pause")
        today = now.astimezone(UTC).date()
        if limits.per_day is not None and usage.day == today and usage.day_used >= limits.per_day:
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
            why = f"the app's {limits.per_day} requests of the day (UTC) are used up until midnight"
            return _Wait(_seconds(midnight - now), why, "day")
        if limits.app_concurrency is not None and usage.in_flight >= limits.app_concurrency:
            return _Wait(self._poll(usage), "the app's requests in flight", "flight")
        if limits.per_minute is not None and usage.in_window >= limits.per_minute:
            if usage.oldest_done is None:  # all in flight: room comes a window after one ends
                return _Wait(self._poll(usage), "the app's window", "window")
            leaves = usage.oldest_done + timedelta(seconds=limits.window)
            return _Wait(_seconds(leaves - now) + 0.001, "the app's window", "window")
        return None

    def _poll(self, usage: _Usage) -> float:
        """Look again soon, or when the first lease ends if that is sooner."""
        wait = POLL_SECONDS * random.uniform(0.5, 1.5)
        if usage.first_lease_end is not None:
            wait = min(wait, _seconds(usage.first_lease_end - usage.now))
        return max(wait, 0.001)

    def _give_back(self, taken: int) -> None:
        """Date the request's end; failing that, its lease ends it (logged, not raised: the request's
        own outcome matters more)."""
        try:
            with self._connection() as connection, connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {REQUESTS} SET finished_at = clock_timestamp() WHERE id = %s", (taken,)
                )
                connection.commit()
        except RequestBudgetUnavailableError as error:
            log.warning("could not give a request slot back (its lease will end it): %s", error)

    # -- connections ----------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[PgConnection]:
        """An idle connection or a new one; back to the idle ones unless it failed. A statement
        that fails on a connection left idle (the server restarted, a pooler dropped it) is not
        retried: the caller's error names the database."""
        connection = self._checkout()
        try:
            if not self._table_ready:
                create_once(connection, REQUESTS, _CREATE)
                self._table_ready = True
            yield connection
        except psycopg2.Error as error:
            close(connection)
            raise RequestBudgetUnavailableError(
                f"{self.location} failed ({first_line(error)}); nothing was sent to Sage"
            ) from None
        except BaseException:
            close(connection)
            raise
        else:
            connection.rollback()  # nothing is left open between transactions
            with self._lock:
                self._idle.append(connection)

    def _checkout(self) -> PgConnection:
        with self._lock:
            if os.getpid() != self._pid:  # forked: the parent's sockets are not ours to use or close
                self._inherited.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        try:
            return connect(self._url, f"sage_accounting budget (pid {os.getpid()})")
        except psycopg2.Error as error:
            raise RequestBudgetUnavailableError(
                f"{self.location} cannot be reached ({first_line(error)}); nothing was sent to Sage"
            ) from None


def _seconds(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0)
