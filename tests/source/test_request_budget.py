"""One request budget for the app, shared by every worker through PostgreSQL.

Four worker processes (as four hosts: they share only PostgreSQL and the sandbox) send requests of
one app at once through the real client and budget (``testkit.budget_workers``); the sandbox
enforces a per-app limit over real HTTP and remembers when each request came
(``/_sandbox/usage``). Sage's window is 60 s; watching a budget over several of them would take
minutes, so the sandbox and the budget here both use a window of a few seconds (the sandbox's
``LimitsConfig.window_seconds``, the budget's ``window``): the rules are the same at any length.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg2
import pytest

from sage_sandbox import SandboxServer
from sage_sandbox.config import LimitsConfig
from sage_source.budget import BudgetLimits, open_request_budget
from sage_source.budget_postgres import REQUESTS, PostgresRequestBudget
from sage_source.errors import SageApiError, SageSourceError
from sage_source.limiter import RequestLimiter
from testkit.budget_workers import Load, Outcome, settings_for, take_and_die, warm, work
from testkit.postgres_server import available
from testkit.sage_http import CLIENT_ID, login
from testkit.sandbox_admin import usage

pytestmark = pytest.mark.skipif(not available(), reason="no PostgreSQL: run scripts/ensure_postgres.sh")

Build = Callable[..., SandboxServer]
WORKERS = 4
STARTUP = 2  # seconds for the (warm) workers to resolve their settings and fetch a token


@pytest.fixture(scope="module")
def workers() -> Iterator[multiprocessing.pool.Pool]:
    """Four spawned processes with the project imported, for every test of the module."""
    pool = multiprocessing.get_context("spawn").Pool(WORKERS)
    try:
        pool.map(warm, range(WORKERS), chunksize=1)
        yield pool
    finally:  # each worker gets its sentinel and is joined (Pool's exit terminates them, which can hang)
        pool.close()
        pool.join()


def run_workers(
    workers: multiprocessing.pool.Pool, server: SandboxServer, database: str, **changes: Any
) -> list[Outcome]:
    load = Load(
        store_url=database,
        api_url=server.urls.api,
        token_url=server.urls.token,
        seed=str(login(server.urls)["refresh_token"]),
        start_at=time.time() + STARTUP,
        window=server.sandbox.limiter.limits.window_seconds,
        **{"threads": 3, **changes},
    )
    outcomes: list[Outcome] = workers.map(work, [load] * WORKERS, chunksize=1)
    assert [o.error for o in outcomes] == [None] * WORKERS, outcomes
    return outcomes


def test_four_workers_share_one_budget_and_use_it(
    workers: multiprocessing.pool.Pool, fresh_server: Build, database: str
) -> None:
    """The sandbox allows N requests in any window; four workers told the same (the app's budget)
    send as fast as they can for three windows: not one 429, never more than N sent in any window,
    and at least 0.9 N in each whole window while they had work."""
    per_window, window, windows = 32, 4.0, 3
    limits = LimitsConfig(per_minute=per_window, latency=0.05, window_seconds=window)
    server = fresh_server(invoices=5, history_days=30, frozen_clock=False, limits=limits)
    run_workers(
        workers,
        server,
        database,
        # The third window ends a moment after this (the first request comes a moment after the
        # start), when its requests, sent as the window opened, have long come.
        seconds=windows * window,
        settings={"requests_per_minute": per_window},
    )

    app = usage(server)[CLIENT_ID]
    assert app["refused"] == 0, app
    assert app["busiest"] <= per_window, app
    whole = app["windows"][:windows]
    assert len(whole) == windows and min(whole) >= 0.9 * per_window, app


def test_a_429_pauses_every_worker_of_the_app(
    workers: multiprocessing.pool.Pool, fresh_server: Build, database: str
) -> None:
    """Sage allows fewer than the budget (here: no per-minute budget at all, and one request in
    flight for the app, so a 429 is met by one request at a time): each 429's Retry-After is
    recorded for the app and every worker waits it out, not only the one that met it. A backoff of
    the worker's own would cost a 429 per thread instead: a dozen in the first second."""
    # Each thread has more to send than the whole app is admitted before its first 429 (per_window),
    # so every worker still has work when a pause begins. With less, a worker could be done by then,
    # or have only its own refused request left, which waits in the retry, not the budget (CI met it).
    per_window, threads, each = 5, 2, 6
    limits = LimitsConfig(per_minute=per_window, latency=0.05, window_seconds=1)
    server = fresh_server(invoices=5, history_days=30, frozen_clock=False, limits=limits)
    outcomes = run_workers(
        workers,
        server,
        database,
        threads=threads,
        requests=each,
        settings={"requests_per_minute": 0, "app_max_concurrency": 1},
    )

    app = usage(server)[CLIENT_ID]
    assert sum(o.done for o in outcomes) == WORKERS * threads * each, outcomes
    assert app["refused"] == sum(o.sent - o.done for o in outcomes) >= 1, (app, outcomes)
    assert all(o.paused >= 0.5 for o in outcomes), outcomes
    # A pause lasts at least a second (Retry-After is whole seconds): at most two begin in any second.
    assert max(app["refused_windows"]) <= 2, (app, outcomes)


def test_a_slot_of_a_dead_worker_ends_with_its_lease(database: str) -> None:
    """A worker killed holding a slot never gives it back: its lease ends it, after which it counts
    in the window like a request that finished then, and nothing is blocked for longer."""
    limits = BudgetLimits(per_minute=1, per_day=None, app_concurrency=1, concurrency=1, lease=2, window=1)
    dead = multiprocessing.get_context("spawn").Process(target=take_and_die, args=(database, "app", limits))
    dead.start()
    dead.join(60)
    assert dead.exitcode == 0
    taken = taken_at(database)
    assert len(taken) == 1, taken
    budget = PostgresRequestBudget(database, "app", limits)
    with budget.slot():
        entered = database_now(database)
    budget.close()

    held = (entered - taken[0]).total_seconds()
    assert limits.lease + limits.window <= held < limits.lease + limits.window + 2, held


def test_the_daily_quota_and_a_long_pause_fail_instead_of_sleeping(database: str) -> None:
    """The day's quota is the app's (two workers share it); a wait past ``max_wait`` (until midnight
    UTC, or a pause for an hour that another worker recorded) fails as the client does for such a
    Retry-After: the run stops and says to come back later."""
    limits = BudgetLimits(per_minute=None, per_day=3, app_concurrency=None, concurrency=2, lease=60)
    first, second = (PostgresRequestBudget(database, "app", limits, max_wait=0) for _ in range(2))
    for budget in (first, second, first):
        with budget.slot():
            pass
    with pytest.raises(SageApiError, match=r"the app's 3 requests of the day \(UTC\) are used up"):
        second.slot().__enter__()

    other = PostgresRequestBudget(database, "other app", limits, max_wait=60)
    other.pause(3600)
    with pytest.raises(
        SageApiError, match=r"paused by a 429 \(Retry-After\): 3[56]\d\ds, longer than max_wait"
    ):
        PostgresRequestBudget(database, "other app", limits, max_wait=60).slot().__enter__()
    for budget in (first, second, other):
        budget.close()


def test_the_settings_choose_the_budget(database: str) -> None:
    """With ``token_store_credentials`` the budget is the app's in PostgreSQL, keyed by ``client_id``;
    without it, this process's, as before."""
    load = Load("", "http://127.0.0.1:1/v3.1", "http://127.0.0.1:1/token", "seed", 0, 60, threads=2)
    shared = open_request_budget(settings_for(Load(**{**load.__dict__, "store_url": database})))
    assert isinstance(shared, PostgresRequestBudget) and shared.app == CLIENT_ID
    assert shared.limits == BudgetLimits(200, 1_296_000, 150, 2, lease=150, window=60)
    local = open_request_budget(settings_for(load))
    assert isinstance(local, RequestLimiter) and local.per_minute == 200


def database_now(url: str) -> datetime:
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        found = cursor.fetchone()
    db.close()
    assert found is not None
    return found[0]  # type: ignore[no-any-return]


def taken_at(url: str) -> list[datetime]:
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute(f"SELECT taken_at FROM {REQUESTS} ORDER BY id")
        found = [row[0] for row in cursor.fetchall()]
    db.close()
    return found


@pytest.mark.parametrize("name", ["requests_per_day", "app_max_concurrency"])
def test_a_negative_shared_limit_is_refused(name: str) -> None:
    load = Load("", "http://127.0.0.1:1/v3.1", "http://127.0.0.1:1/token", "seed", 0, 60, threads=2)
    with pytest.raises(SageSourceError, match=f"{name} must be at least 1, or 0 for no limit; got -1"):
        settings_for(Load(**{**load.__dict__, "settings": {name: -1}}))
