"""The PostgreSQL token store: a load through it, workers racing for one chain, a refused chain.

A throwaway PostgreSQL server (``testkit.postgres_server``) runs for the module, each test gets a
database of its own, and the sandbox plays Sage over real HTTP: it rotates the refresh token on
every refresh and revokes the whole chain when a spent one comes back, so a single refresh made
with anything but the newest token shows in its statistics (``reuse_revocations``, ``rejected``).
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import pytest

from pipelines.runner import run
from sage_sandbox import SandboxServer
from sage_source.auth import TokenManager
from sage_source.errors import ReauthorizationError
from sage_source.token_store_postgres import TABLE, PostgresTokenStore
from testkit.cli_home import new_home, start_auth
from testkit.pg_token_race import Outcome, Race, work
from testkit.pipeline_env import PREFIX, cli, connect, patched_env
from testkit.postgres_server import LOADER_PASSWORD, available
from testkit.refresh_kills import kill_refreshing_workers
from testkit.sage_http import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    authorization_code,
    login,
    sandbox_businesses,
    token_request,
)
from testkit.sandbox_admin import ACCESS_TTL, move_clock, token_stats
from testkit.warehouse import mismatches

pytestmark = pytest.mark.skipif(not available(), reason="no PostgreSQL: run scripts/ensure_postgres.sh")

Build = Callable[..., SandboxServer]
RESOURCES = ["sales_invoices", "contacts"]
WORKERS = 4


def row(url: str, connection: str) -> dict[str, Any] | None:
    """The connection's row as the database holds it, read with a connection of our own."""
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute(
            f"SELECT token_set::text, updated_at, saves, needs_reconsent, reconsent_reason FROM {TABLE} "
            "WHERE connection = %s",
            (connection,),
        )
        found = cursor.fetchone()
    db.close()
    if found is None:
        return None
    names = ("token_set", "updated_at", "saves", "needs_reconsent", "reconsent_reason")
    return dict(zip(names, found, strict=True))


def manager(store: PostgresTokenStore, server: SandboxServer, http: httpx.Client, seed: str) -> TokenManager:
    return TokenManager(
        store,
        token_url=server.urls.token,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        http=http,
        seed_refresh_token=seed,
    )


def files_holding(folder: Path, secret: str) -> list[str]:
    """Files under ``folder`` whose bytes (gzip opened) hold ``secret``."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            if secret.encode() in data:
                found.append(str(path))
    return found


def test_a_load_through_the_postgresql_store_equals_the_books(
    fresh_server: Build, database: str, tmp_path: Path
) -> None:
    """Two scheduled runs keep their chain in PostgreSQL: the first seeds the row, the second meets
    an access token Sage has expired, refreshes through the row and loads what changed."""
    connected = connect(fresh_server(invoices=40, history_days=90), tmp_path / "home")
    server = connected.server
    env = {
        **connected.env,
        f"{PREFIX}TOKEN_STORE_CREDENTIALS": database,
        f"{PREFIX}CONNECTION_NAME": "acme",
    }
    with patched_env(env):
        run(connected.request(resources=RESOURCES))
        first = row(database, "acme")
        move_clock(server, ACCESS_TTL + 1)
        run(connected.request(resources=RESOURCES))
    second = row(database, "acme")

    assert first is not None and second is not None
    assert (first["saves"], second["saves"]) == (1, 2)
    assert first["token_set"] != second["token_set"] and not second["needs_reconsent"]
    stats = token_stats(server)
    assert stats["refreshed"] == 2, stats
    assert stats["reuse_revocations"] == stats["rejected"] == 0, stats
    assert not connected.token_store.exists(), "the token file was written: the setting was ignored"
    with connected.warehouse() as warehouse:
        assert warehouse.count("sales_invoices") > 0
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []
    # The database's password is a secret setting: dlt keeps it out of its trace and state.
    assert files_holding(connected.home / "pipelines", LOADER_PASSWORD) == []


def test_workers_refreshing_one_chain_at_once_never_break_it(fresh_server: Build, database: str) -> None:
    """Four processes (as four hosts: they share only PostgreSQL and the sandbox) use one
    connection for 16 s with 4 s access tokens, on a sandbox clock that runs: each expiry is met
    by all four at about the same moment, and each refresh must use the newest refresh token."""
    server = fresh_server(invoices=5, history_days=30, access_token_ttl=4, frozen_clock=False)
    race = Race(
        store_url=database,
        connection="acme",
        token_url=server.urls.token,
        api_url=server.urls.api,
        seed=str(login(server.urls)["refresh_token"]),
        start_at=time.time() + 5,  # after every spawned worker has imported the project
        seconds=16,
    )
    # The executor's shutdown sends each worker its sentinel and joins it; a Pool's exit terminates
    # them instead, which once hung joining a worker under xdist.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=spawn) as pool:
        outcomes: list[Outcome] = list(pool.map(work, [race] * WORKERS))

    assert [o.error for o in outcomes] == [None] * WORKERS, outcomes
    stats = token_stats(server)
    assert stats["reuse_revocations"] == stats["rejected"] == 0, (stats, outcomes)
    refreshes = sum(o.refreshes for o in outcomes)
    stored = row(database, "acme")
    assert stored is not None
    assert stats["refreshed"] == refreshes == stored["saves"], (stats, outcomes)
    assert refreshes >= 4, f"only {refreshes} refreshes: the race never happened"
    assert sum(1 for o in outcomes if o.refreshes) >= 2, f"one worker did every refresh: {outcomes}"
    assert {status for o in outcomes for status in o.statuses} == {200}, outcomes
    # The chain the row holds is alive: Sage takes its refresh token.
    tokens = PostgresTokenStore(database, "acme").load()
    assert tokens is not None
    answer = token_request(server.urls, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert answer.status_code == 200, answer.text


def test_a_refused_refresh_stops_only_its_connection_until_a_new_consent(
    fresh_server: Build, database: str
) -> None:
    server = fresh_server(invoices=5, history_days=30)
    names = ("acme", "globex")
    stores = {name: PostgresTokenStore(database, name) for name in names}
    with httpx.Client(timeout=10) as http:
        managers = {
            name: manager(stores[name], server, http, str(login(server.urls)["refresh_token"]))
            for name in names
        }
        for name in names:
            managers[name].access_token()  # each row is seeded with its own chain
        globex = row(database, "globex")
        acme = stores["acme"].load()
        assert acme is not None and globex is not None
        # acme's newest refresh token is spent behind the store's back (a copy of the chain used
        # elsewhere): the store's next refresh is a reuse, refused with invalid_grant.
        token_request(
            server.urls, grant_type="refresh_token", refresh_token=acme.refresh_token
        ).raise_for_status()

        with pytest.raises(ReauthorizationError, match="invalid_grant") as refused:
            managers["acme"].refresh(stale=acme.access_token)

        message = str(refused.value)
        assert acme.refresh_token not in message and str(acme.access_token) not in message
        marked = row(database, "acme")
        assert marked is not None and marked["needs_reconsent"], marked
        assert "invalid_grant" in marked["reconsent_reason"]
        assert row(database, "globex") == globex, "the other connection's row was touched"

        # Every later run of acme stops at once, without sending its dead token to Sage again.
        before = token_stats(server)
        again = manager(PostgresTokenStore(database, "acme"), server, http, "an-unused-seed")
        with pytest.raises(ReauthorizationError, match="'acme' needs a new consent"):
            again.access_token()
        assert token_stats(server) == before
        # globex goes on: its chain refreshes through its own row.
        current = stores["globex"].load()
        assert current is not None
        managers["globex"].refresh(stale=current.access_token)
        after = row(database, "globex")
        assert after is not None and after["saves"] == globex["saves"] + 1 and not after["needs_reconsent"]

        # A new consent (what `sage-pipeline auth` does) clears the mark.
        again.exchange_code(authorization_code(server.urls), REDIRECT_URI)
        cleared = row(database, "acme")
        assert cleared is not None and not cleared["needs_reconsent"] and cleared["reconsent_reason"] is None
        assert again.access_token()
    assert token_stats(server)["reuse_revocations"] == 1  # acme's, on purpose; nothing else


def test_sage_pipeline_auth_and_businesses_use_the_postgresql_store(
    fresh_server: Build, database: str, tmp_path: Path
) -> None:
    """The CLI reads the same settings: ``auth`` stores the consent in the connection's row, and
    ``businesses`` then works from it alone; no token file is written, no secret is printed."""
    server = fresh_server(invoices=5, history_days=30)
    home = new_home(tmp_path, server, seeded=False)
    home.env |= {f"{PREFIX}TOKEN_STORE_CREDENTIALS": database, f"{PREFIX}CONNECTION_NAME": "acme"}
    session = start_auth(home)
    try:
        page = httpx.get(session.url, follow_redirects=True, timeout=60)  # what the browser does
    finally:
        out, err = session.finish()
    assert page.status_code == 200 and session.process.returncode == 0, err
    assert "Tokens stored in the PostgreSQL token store " in out and "(connection 'acme')" in out, out
    stored = row(database, "acme")
    assert stored is not None and stored["saves"] == 1 and not stored["needs_reconsent"]

    listed = cli("businesses", env=home.env, cwd=home.root)
    assert listed.returncode == 0, listed.stderr
    assert all(business in listed.stdout for business in sandbox_businesses(server))
    assert not home.token_store.exists()
    tokens = PostgresTokenStore(database, "acme").load()
    assert tokens is not None
    printed = out + err + listed.stdout + listed.stderr
    secrets = (tokens.refresh_token, str(tokens.access_token), LOADER_PASSWORD)
    assert all(secret not in printed for secret in secrets)


# A worker that takes the row and then goes silent with its socket open: a host lost to a network
# partition or a frozen VM (SIGSTOP here). Its process is not dead, so nothing closes the socket.
_VANISHING_HOLDER = """
import sys, time
from sage_source.token_store_postgres import PostgresTokenStore
store = PostgresTokenStore(sys.argv[1], "vanishing", hold_limit=float(sys.argv[2]))
with store.lock():
    print("held", flush=True)
    time.sleep(3600)
"""


def test_a_vanished_holder_frees_the_row_after_the_hold_limit(database: str) -> None:
    hold_limit = 2.0
    holder = subprocess.Popen(
        [sys.executable, "-c", _VANISHING_HOLDER, database, str(hold_limit)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGSTOP)
        waited = time.monotonic()
        with PostgresTokenStore(database, "vanishing").lock(timeout=30):
            waited = time.monotonic() - waited
    finally:
        holder.kill()
        holder.wait()
    # The server ended the silent session once it had held the row idle for the hold limit; without
    # the limit this waits the whole 30 s and fails (as it would for two hours in production).
    assert waited < hold_limit + 5, waited


def test_a_worker_killed_mid_refresh_loses_its_chain_only_after_sage_answered(
    fresh_server: Build, database: str
) -> None:
    # Workers refreshing back to back, SIGKILLed at random moments: most die waiting for the row or
    # for Sage, and their chains must live on; one that dies after Sage rotated the token and before
    # the commit takes the new token with it (benchmarks/refresh_kills.py measures how often).
    server = fresh_server(invoices=5, history_days=30, frozen_clock=False)
    figures = kill_refreshing_workers(server, database, kills=8)
    assert figures.kills == 8 and figures.refreshes > 8
    assert figures.unexplained == 0, figures
