"""Workers SIGKILLed while refreshing one chain each, and what became of the chains.

Used by ``tests/source/test_token_store_postgres.py`` and ``benchmarks/refresh_kills.py``; not a
test itself. Each kill gives a new connection its own chain (a consent in the sandbox) in the
PostgreSQL token store, starts a worker that refreshes it back to back (every moment of its life is
inside a refresh: waiting for the row, posting to Sage, committing), SIGKILLs it at a random moment,
and refreshes the chain from another process. The sandbox revokes a chain whose spent refresh token
is presented again, the worst a Sage could do.

A kill before Sage rotated the token must leave the chain whole (the row lock dies with the
worker's connection, and the stored token is still the newest). A kill after Sage answered and
before the commit loses it: the new token was only in the dead process's memory. Each loss is
checked to be of that kind: Sage rotated the chain once more than the store saved it.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import psycopg2

from sage_sandbox import SandboxServer
from sage_source.auth import TokenManager
from sage_source.errors import ReauthorizationError
from sage_source.token_store_postgres import TABLE, PostgresTokenStore
from testkit.sage_http import CLIENT_ID, CLIENT_SECRET, login

# The worker: take the seed into the store, say so, then refresh for ever.
_WORKER = """
import sys, httpx
from sage_source.auth import TokenManager
from sage_source.token_store_postgres import PostgresTokenStore
url, connection, token_url, seed, client_id, secret = sys.argv[1:7]
with httpx.Client(timeout=30) as http:
    manager = TokenManager(PostgresTokenStore(url, connection), token_url=token_url, client_id=client_id,
                           client_secret=secret, http=http, seed_refresh_token=seed)
    token = manager.access_token()
    print("ready", flush=True)
    while True:
        token = manager.refresh(stale=token)
"""


@dataclass
class KillFigures:
    kills: int = 0
    lost: int = 0  # chains another worker could no longer refresh
    unexplained: int = 0  # losses without an unsaved rotation, or an unsaved rotation kept alive
    refreshes: int = 0  # by the killed workers
    seconds: float = 0.0  # the killed workers' lives


def kill_refreshing_workers(server: SandboxServer, store_url: str, kills: int, seed: int = 0) -> KillFigures:
    rng = random.Random(seed)
    stats = server.sandbox.auth.stats
    figures = KillFigures()
    for number in range(kills):
        connection = f"k{number}"
        command = [sys.executable, "-c", _WORKER, store_url, connection, server.urls.token]
        command += [str(login(server.urls)["refresh_token"]), CLIENT_ID, CLIENT_SECRET]
        worker = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        rotated_before, started = stats.refreshed, time.monotonic()
        time.sleep(rng.uniform(0.05, 0.5))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        figures.seconds += time.monotonic() - started
        rotated = stats.refreshed - rotated_before
        figures.refreshes += rotated
        unsaved = rotated + 1 - _saves(store_url, connection)  # the seed's first refresh was saved too
        alive = _survives(store_url, connection, server.urls.token)
        figures.kills += 1
        figures.lost += not alive
        figures.unexplained += (not alive) != (unsaved == 1)
    return figures


def _saves(url: str, connection: str) -> int:
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute(f"SELECT saves FROM {TABLE} WHERE connection = %s", (connection,))
        found = cursor.fetchone()
    db.close()
    return int(found[0]) if found else 0


def _survives(url: str, connection: str, token_url: str) -> bool:
    """Can another worker still refresh the chain?"""
    with httpx.Client(timeout=30) as http:
        store = PostgresTokenStore(url, connection)
        manager = TokenManager(
            store, token_url=token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http=http
        )
        try:
            stored = store.load()
            manager.refresh(stale=stored.access_token if stored else None)
        except ReauthorizationError:
            return False
    return True
