"""One of several worker processes sharing one connection's chain through the PostgreSQL store.

Used by ``tests/source/test_token_store_postgres.py`` (in processes of ``multiprocessing``'s
``spawn`` context, as separate hosts would be: they share nothing but the database and the
sandbox); not a test itself. Each worker has its own store object, token manager and HTTP client,
waits for a common start, then reads ``/businesses`` as fast as it can for a while with
``SageAuth`` (proactive refresh when its token is about to expire, one refresh and a re-send on a
401): with access tokens of a few seconds, every worker meets every expiry at about the same
moment, so each refresh is a race for the row. It reports counts only, never a token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from sage_source.auth import SageAuth, TokenManager
from sage_source.token_store_postgres import PostgresTokenStore
from testkit.sage_http import CLIENT_ID, CLIENT_SECRET


@dataclass(frozen=True)
class Race:
    store_url: str
    connection: str
    token_url: str
    api_url: str
    seed: str
    start_at: float  # epoch seconds: every worker begins then
    seconds: float
    pause: float = 0.02  # between requests: the two cores are shared with the sandbox and PostgreSQL


@dataclass(frozen=True)
class Outcome:
    refreshes: int  # refresh POSTs this worker sent
    statuses: dict[int, int]  # /businesses answers by status
    error: str | None  # type and message (they carry no tokens)


def work(race: Race) -> Outcome:
    store = PostgresTokenStore(race.store_url, race.connection)
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=30) as token_http:
        manager = TokenManager(
            store,
            token_url=race.token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            http=token_http,
            seed_refresh_token=race.seed,
        )
        with httpx.Client(base_url=race.api_url, auth=SageAuth(manager), timeout=30) as api:
            time.sleep(max(0.0, race.start_at - time.time()))
            deadline = race.start_at + race.seconds
            try:
                while time.time() < deadline:
                    status = api.get("/businesses").status_code
                    statuses[status] = statuses.get(status, 0) + 1
                    time.sleep(race.pause)
            except Exception as error:
                return Outcome(manager.refreshes, statuses, f"{type(error).__name__}: {error}")
    return Outcome(manager.refreshes, statuses, None)
