"""Worker processes of one Sage app sharing a request budget through PostgreSQL, for the budget tests.

Used by ``tests/source/test_request_budget.py`` in processes of ``multiprocessing``'s ``spawn``
context, as separate hosts would be: they share nothing but the database and the sandbox. Each
worker resolves the source's settings (``token_store_credentials`` set, so the token chain and
the budget both live in the database), builds the real token manager, budget
(:func:`~sage_source.budget.open_request_budget`) and :class:`~sage_source.client.SageClient`,
waits for a common start, then sends ``GET /businesses`` from a few threads, each until a deadline
or a number of requests. It reports counts only, never a token.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import httpx

from sage_source.auth import SageAuth, TokenManager
from sage_source.budget import BudgetLimits, open_request_budget
from sage_source.budget_postgres import PostgresRequestBudget
from sage_source.client import SageClient
from sage_source.config import SageAccountingConfiguration, resolve
from sage_source.token_store import open_token_store
from testkit.sage_http import CLIENT_ID, CLIENT_SECRET


@dataclass(frozen=True)
class Load:
    store_url: str
    api_url: str
    token_url: str
    seed: str  # a refresh token: the first worker seeds the shared store with it
    start_at: float  # epoch seconds: every worker begins then
    window: float  # the budget's window (the sandbox's too)
    threads: int  # requests in flight at once per worker (``max_concurrency``)
    seconds: float | None = None  # each thread sends until then ...
    requests: int | None = None  # ... or this many requests
    settings: dict[str, object] = field(default_factory=dict)  # more settings (requests_per_minute, ...)


@dataclass(frozen=True)
class Outcome:
    done: int  # requests answered 200
    sent: int  # requests sent, retries included
    waited: float  # seconds the budget made this worker's threads wait
    paused: float  # of which for a 429's pause (0 for a process-local budget)
    error: str | None  # type and message (they carry no tokens)


def settings_for(load: Load) -> SageAccountingConfiguration:
    explicit = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_base_url": load.api_url,
        "token_url": load.token_url,
        "token_store_credentials": load.store_url,
        "connection_name": "acme",
        "refresh_token": load.seed,
        "max_concurrency": load.threads,
        "max_retries": 3,
        **load.settings,
    }
    return resolve(SageAccountingConfiguration, explicit)


def work(load: Load) -> Outcome:
    settings = settings_for(load)
    budget = open_request_budget(settings, window=load.window)
    done: list[int] = []
    errors: list[str] = []
    with httpx.Client(timeout=30) as token_http:
        tokens = TokenManager(
            open_token_store(settings),
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            http=token_http,
            seed_refresh_token=settings.refresh_token,
        )
        client = SageClient(settings, SageAuth(tokens), budget)
        tokens.access_token()  # every worker's first refresh is over before the clock starts

        def send() -> None:
            count = 0
            try:
                deadline = load.start_at + (load.seconds or 0)
                while (load.requests is None or count < load.requests) and (
                    load.seconds is None or time.time() < deadline
                ):
                    client.get("businesses")
                    count += 1
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
            done.append(count)

        time.sleep(max(0.0, load.start_at - time.time()))
        threads = [threading.Thread(target=send) for _ in range(load.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
    budget.close()
    return Outcome(
        done=sum(done),
        sent=client.sent(None, "businesses"),
        waited=round(budget.waited, 3),
        paused=round(getattr(budget, "paused", 0.0), 3),
        error="; ".join(errors) or None,
    )


def warm(_: int) -> None:
    """Nothing: a pool's processes have imported this module (and the project) once it returns."""
    time.sleep(0.2)  # long enough that each process of the pool gets one


def take_and_die(url: str, app: str, limits: BudgetLimits) -> None:
    """Take a slot and end the process at once, never giving it back (a worker killed mid-request)."""
    budget = PostgresRequestBudget(url, app, limits)
    held = budget.slot()  # kept: a context manager collected at once would give the slot back
    held.__enter__()
    os._exit(0)
