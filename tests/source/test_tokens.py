"""The refresh-token chain survives everything a scheduled pipeline meets, and never leaks.

Sage (and the sandbox, which plays it over real HTTP here) rotates the refresh token on every
use and revokes the whole chain when a spent one is presented again, so one wrong refresh
disconnects the customer. These tests drive the real pipeline against the sandbox and check
the chain through the sandbox's own books: its token statistics (``GET /_sandbox/status``),
its request counters, and the token endpoint itself.

The access token's expiry is judged by the sandbox's clock, the client's by its own (real
time): moving the sandbox clock past the 300 s access lifetime makes the sandbox refuse a token
the client still trusts, which is the "expired mid-run: 401, one refresh, one re-send" path.

Where the real Sage cannot be made to misbehave (a token answer lost on the way back), a
small stdlib HTTP server on loopback plays the token endpoint.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
from dlt.common.versioned_state import decompress_state

from pipelines.runner import make_pipeline, run
from sage_sandbox import SandboxServer
from sage_source import apply_deletions, sage_accounting
from sage_source.auth import SKEW_SECONDS, TokenManager
from sage_source.errors import AmbiguousRefreshError, ReauthorizationError, TokenStoreUnwritableError
from sage_source.tokens import RESERVED_BYTES, FileTokenStore, TokenSet
from testkit.pipeline_env import PREFIX, Connected, connect, patched_env
from testkit.sage_http import CLIENT_ID, CLIENT_SECRET, token_request
from testkit.sandbox_admin import ACCESS_TTL, move_clock, token_stats
from testkit.small_disk import SmallDisk
from testkit.warehouse import mismatches

Build = Callable[..., SandboxServer]
RESOURCES = ["sales_invoices", "contacts"]
EXIT_REAUTH, EXIT_SAGE = 3, 4  # pipelines/cli.py's documented exit codes
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def connected(fresh_server: Build, tmp_path: Path) -> Connected:
    return connect(fresh_server(invoices=40, history_days=90), tmp_path / "home")


# -- the sandbox's side of the story -----------------------------------------------------------


def api_outcomes(server: SandboxServer) -> dict[str, dict[str, int]]:
    """Requests under ``/v3.1`` by route and status since the last reset."""
    counters: dict[str, dict[str, int]] = httpx.get(f"{server.urls.admin}/counters").json()
    return counters


def reset_counters(server: SandboxServer) -> None:
    httpx.delete(f"{server.urls.admin}/counters").raise_for_status()


def unauthorised(server: SandboxServer) -> dict[str, int]:
    return {route: n["401"] for route, n in api_outcomes(server).items() if "401" in n}


# -- our side -------------------------------------------------------------------------------------


def stored(connected: Connected) -> TokenSet:
    tokens = FileTokenStore(connected.token_store).load()
    assert tokens is not None and tokens.access_token, "the token store is empty"
    return tokens


def secrets_of(*sets: TokenSet) -> set[str]:
    return {t for s in sets for t in (s.refresh_token, s.access_token) if t}


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def load_ids(connected: Connected) -> list[str]:
    with connected.warehouse() as warehouse:
        return sorted(str(row["load_id"]) for row in warehouse.rows("_dlt_loads"))


def table_counts(connected: Connected) -> dict[str, int]:
    with connected.warehouse() as warehouse:
        return {table: warehouse.count(table) for table in sorted(warehouse.tables())}


def cli_run(connected: Connected, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``sage-pipeline run`` as a scheduler starts it: a new process, settings in the environment."""
    request = connected.request()
    command = [
        str(Path(sys.executable).with_name("sage-pipeline")),
        "run",
        "--quiet",
        "--skip-dbt",
        "--resources",
        ",".join(RESOURCES),
        "--pipeline-name",
        request.pipeline_name,
        "--pipelines-dir",
        str(request.pipelines_dir),
        "--duckdb",
        str(request.duckdb_path),
    ]
    environment = {**os.environ, **(env or connected.env), "RUNTIME__DLTHUB_TELEMETRY": "false"}
    return subprocess.run(
        command,
        env=environment,
        cwd=connected.home,  # no .dlt folder of the project's
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], code: int, says: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("sage-pipeline run: "), output
    assert says in lines[0], output
    return output


# -- 1. expiry mid-run ------------------------------------------------------------------------


def test_an_access_token_expiring_mid_run_is_refreshed_once_and_the_load_completes(
    connected: Connected,
) -> None:
    """The run's first request (listing the businesses) authorises; then the token expires at the
    server while the client still trusts it. The extraction's parallel requests meet 401s; one
    refresh serves them all, each refused request is sent once more, and the load is complete."""
    server = connected.server
    request = connected.request(resources=RESOURCES)
    with patched_env(connected.env):
        pipeline = make_pipeline(request)
        source = sage_accounting(resources=RESOURCES)  # GET /businesses: the seed is refreshed
        first = stored(connected)
        assert token_stats(server)["refreshed"] == 1
        reset_counters(server)
        move_clock(server, ACCESS_TTL + 1)
        assert first.access_valid_for() > SKEW_SECONDS  # the client would keep using it
        pipeline.run(source)
        apply_deletions(pipeline)

    refused = unauthorised(server)
    assert sum(refused.values()) >= 1, "the expired token was never refused: the test proves nothing"
    outcomes = api_outcomes(server)
    assert all(set(by_status) <= {"200", "401"} for by_status in outcomes.values()), outcomes
    stats = token_stats(server)
    assert stats["refreshed"] == 2, f"one refresh for all the 401s expected: {stats}"
    assert stats["reuse_revocations"] == stats["rejected"] == 0, stats
    after = stored(connected)
    assert after.refresh_token != first.refresh_token
    assert after.access_token != first.access_token
    assert file_mode(connected.token_store) == 0o600
    with connected.warehouse() as warehouse:
        assert warehouse.count("sales_invoices") > 0
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []


def test_a_stored_access_token_the_server_has_expired_is_refreshed_on_its_401(connected: Connected) -> None:
    """The next scheduled run picks up the stored access token, which the client still trusts but
    Sage has expired: the first request is refused once, refreshed, re-sent, and the run loads
    what changed."""
    server = connected.server
    connected.run(resources=RESOURCES)
    before = stored(connected)
    httpx.post(f"{server.urls.admin}/advance", json={"days": 3}).raise_for_status()  # > 300 s
    assert before.access_valid_for() > SKEW_SECONDS
    refreshed = token_stats(server)["refreshed"]
    reset_counters(server)

    report = connected.run(resources=RESOURCES)

    assert unauthorised(server) == {"GET /v3.1/businesses": 1}
    assert token_stats(server)["refreshed"] == refreshed + 1
    after = stored(connected)
    assert after.refresh_token != before.refresh_token
    assert file_mode(connected.token_store) == 0o600
    assert report.rows.get("sales_invoices", 0) > 0
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []


# -- 2. rotation ------------------------------------------------------------------------------


def test_each_refresh_rotates_the_stored_token_and_the_spent_one_is_dead(connected: Connected) -> None:
    server = connected.server
    connected.run(resources=RESOURCES)
    chain = [stored(connected).refresh_token]

    # A run whose access token is still good does not refresh (nor rotate) at all.
    connected.run(resources=RESOURCES)
    assert stored(connected).refresh_token == chain[-1]
    assert token_stats(server)["refreshed"] == 1  # the seed's, in the first run

    for _ in range(2):  # later runs, each after the access token expired
        move_clock(server, ACCESS_TTL + 1)
        connected.run(resources=RESOURCES)
        chain.append(stored(connected).refresh_token)
    assert len({connected.refresh_token, *chain}) == 4, "every refresh must store a new token"
    assert token_stats(server)["refreshed"] == 3
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []

    # The token the store held before is spent: Sage refuses it as a reuse...
    spent = token_request(server.urls, grant_type="refresh_token", refresh_token=chain[-2])
    assert (spent.status_code, spent.json()) == (400, {"error": "invalid_grant"})
    assert token_stats(server)["reuse_revocations"] == 1
    # ...and, as Sage treats a reuse as theft, that one request killed the chain the store holds:
    # the reason the store must never hand out anything but its newest token.
    with pytest.raises(ReauthorizationError, match="sage-pipeline auth"):
        connected.run(resources=RESOURCES)


# -- 3. two processes refreshing at once ---------------------------------------------------------


def wait_for_files(paths: list[Path], processes: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 90
    while not all(path.exists() for path in paths):
        ended = [process.poll() for process in processes]
        if any(code not in (None, 0) for code in ended) or None not in ended:
            if all(path.exists() for path in paths):
                break
            errors = [process.communicate()[1][-2000:] for process in processes if process.poll()]
            pytest.fail(f"a racer ended early ({ended}): {errors}")
        if time.monotonic() > deadline:
            pytest.fail(f"the racers never wrote {[p.name for p in paths if not p.exists()]}")
        time.sleep(0.002)


def test_two_processes_refreshing_at_the_same_moment_keep_the_chain_alive(
    connected: Connected, tmp_path: Path
) -> None:
    server = connected.server
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    names, rounds = ["a", "b"], 5
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "testkit.token_race",
                str(connected.token_store),
                server.urls.token,
                connected.refresh_token,
                str(barrier),
                name,
                str(rounds),
            ],
            cwd=PROJECT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    outcomes: list[list[dict[str, Any]]] = []
    try:
        for round_ in range(rounds):
            wait_for_files([barrier / f"{n}.ready.{round_}" for n in names], racers)
            (barrier / f"go.{round_}").touch()  # both read the same store; now both refresh
            done = [barrier / f"{n}.done.{round_}" for n in names]
            wait_for_files(done, racers)
            outcomes.append([json.loads(path.read_text()) for path in done])
        for racer in racers:
            assert racer.wait(timeout=60) == 0, racer.communicate()[1][-2000:]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()

    for round_, outcome in enumerate(outcomes):
        assert all("error" not in o for o in outcome), (round_, outcome)
        assert sorted(o["refreshed"] for o in outcome) == [0, 1], (round_, outcome)
        assert outcome[0]["token"] == outcome[1]["token"], f"round {round_}: both must use the new token"
    stats = token_stats(server)
    assert stats["refreshed"] == rounds, stats
    assert stats["reuse_revocations"] == stats["rejected"] == 0, stats
    assert file_mode(connected.token_store) == 0o600

    # The chain the store holds still works: a run refreshes with it and loads.
    move_clock(server, ACCESS_TTL + 1)
    connected.run(resources=RESOURCES)
    assert token_stats(server)["refreshed"] == rounds + 1
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []


# -- 4. a dead chain ----------------------------------------------------------------------------


@pytest.mark.parametrize("death", ["revoked", "expired"])
def test_a_dead_chain_asks_for_reauthorisation_and_loads_nothing(connected: Connected, death: str) -> None:
    server = connected.server
    connected.run(resources=RESOURCES)
    tokens = stored(connected)
    loads, counts = load_ids(connected), table_counts(connected)
    if death == "revoked":  # the user disconnected the app in Sage
        httpx.post(f"{server.urls.admin}/revoke_tokens").raise_for_status()
    else:  # no run for longer than the refresh token's 31 days
        move_clock(server, 32 * 86400)

    with pytest.raises(ReauthorizationError) as raised:
        connected.run(resources=RESOURCES)
    message = str(raised.value)
    assert "Run `sage-pipeline auth`" in message
    assert all(secret not in message for secret in [*secrets_of(tokens), connected.refresh_token])
    assert load_ids(connected) == loads
    assert table_counts(connected) == counts
    assert stored(connected) == tokens  # nothing worth keeping arrived; nothing was overwritten

    result = cli_run(connected)
    output = assert_one_clear_line(result, EXIT_REAUTH, "sage-pipeline auth")
    assert all(secret not in output for secret in [*secrets_of(tokens), connected.refresh_token])
    assert load_ids(connected) == loads
    assert table_counts(connected) == counts


def test_a_refresh_token_known_to_be_expired_is_not_even_sent(connected: Connected, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    issued = TokenSet.from_response(
        token_request(
            connected.server.urls, grant_type="refresh_token", refresh_token=connected.refresh_token
        )
        .raise_for_status()
        .json()
    )
    store.save(issued)
    refreshed = token_stats(connected.server)["refreshed"]
    later = time.time() + 32 * 86400  # the client's clock says the 31 days are over
    with httpx.Client() as http:
        manager = TokenManager(
            store,
            token_url=connected.server.urls.token,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            http=http,
            clock=lambda: later,
        )
        with pytest.raises(ReauthorizationError, match="sage-pipeline auth"):
            manager.access_token()
    assert manager.refreshes == 0
    assert token_stats(connected.server)["refreshed"] == refreshed
    assert store.load() == issued


# -- 5. a refresh whose answer is lost -----------------------------------------------------------


class TokenEndpointStub:
    """A token endpoint on loopback that takes the POST and then fails to answer it properly.

    ``drop``: reads the request and closes the connection without a word (the answer lost on
    the way back). ``hang``: never answers (the client times out). ``bad_gateway``: a proxy's 502.
    ``not_a_token_set``: 200 with JSON that holds no tokens. ``not_json``: 200 with a proxy's HTML page.
    """

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.posts = 0
        self.released = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stub.posts += 1
                if stub.behaviour == "hang":
                    stub.released.wait(60)
                elif stub.behaviour == "bad_gateway":
                    body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                    self.send_response(502)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if stub.behaviour in ("not_a_token_set", "not_json"):
                    json_body = stub.behaviour == "not_a_token_set"
                    body = (
                        b'{"token_type": "bearer", "expires_in": 300}'
                        if json_body
                        else b"<html><body>Please sign in to the proxy</body></html>"
                    )
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json" if json_body else "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.close_connection = True  # and no answer at all

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TokenEndpointStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("behaviour", ["drop", "hang", "bad_gateway"])
def test_a_refresh_whose_answer_is_lost_is_not_retried(tmp_path: Path, behaviour: str) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    refresh_token, access_token = "previous-refresh-token-0123456789", "previous-access-token-0123456789"
    previous = TokenSet(
        refresh_token=refresh_token,
        access_token=access_token,
        access_expires_at=time.time() - 1,  # expired: the next access needs a refresh
    )
    store.save(previous)
    saved = store.path.read_bytes()
    with TokenEndpointStub(behaviour) as stub, httpx.Client(timeout=0.5) as http:
        manager = TokenManager(
            store, token_url=stub.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http=http
        )
        with pytest.raises(AmbiguousRefreshError) as raised:
            manager.access_token()
        posts = stub.posts
    message = str(raised.value)
    assert posts == 1, f"the refresh was sent {posts} times"
    assert "not retried" in message and "sage-pipeline auth" in message
    assert refresh_token not in message and access_token not in message
    assert store.load() == previous
    assert store.path.read_bytes() == saved
    assert file_mode(store.path) == 0o600


def test_a_run_whose_refresh_answer_is_lost_stops_and_keeps_the_chain(connected: Connected) -> None:
    server = connected.server
    connected.run(resources=RESOURCES)
    tokens = stored(connected)
    saved = connected.token_store.read_bytes()
    loads = load_ids(connected)
    move_clock(server, ACCESS_TTL + 1)  # this run's first request meets a 401 and must refresh

    with TokenEndpointStub("drop") as stub:
        lost = {**connected.env, f"{PREFIX}TOKEN_URL": stub.url}
        with patched_env(lost), pytest.raises(AmbiguousRefreshError) as raised:
            run(connected.request(resources=RESOURCES))
        assert stub.posts == 1
        result = cli_run(connected, lost)
        assert stub.posts == 2  # the CLI's run: again one POST, not a retry loop
    assert "not retried" in str(raised.value)
    output = assert_one_clear_line(result, EXIT_SAGE, "not retried")
    secrets = [*secrets_of(tokens), connected.refresh_token]
    assert all(secret not in output and secret not in str(raised.value) for secret in secrets)
    assert connected.token_store.read_bytes() == saved
    assert load_ids(connected) == loads

    # The stub never told Sage, so the stored chain is intact: the next run refreshes and loads.
    refreshed = token_stats(server)["refreshed"]
    connected.run(resources=RESOURCES)
    assert token_stats(server)["refreshed"] == refreshed + 1
    assert stored(connected).refresh_token != tokens.refresh_token
    assert len(load_ids(connected)) == len(loads) + 1


# -- 6. a save cut short, a disk that cannot take the next token -------------------------------


def leftover(store: Path, name: str, data: bytes) -> Path:
    """A temporary file as ``FileTokenStore`` names its own, 0600."""
    path = store.parent / f".{store.name}.{name}.tmp"
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def test_a_newer_token_set_left_by_a_kill_before_the_rename_is_recovered_and_the_chain_survives(
    connected: Connected,
) -> None:
    """A run killed (kill -9) after Sage rotated the token and the new set was written and
    fsynced, but before the rename: the store holds the spent token, the temporary file the only
    live one. The next run must use the temporary file's: the store's would be a reuse, and Sage
    would revoke the whole chain."""
    server = connected.server
    connected.run(resources=RESOURCES)
    spent = stored(connected)
    answer = token_request(server.urls, grant_type="refresh_token", refresh_token=spent.refresh_token)
    newest = TokenSet.from_response(answer.raise_for_status().json())  # what the killed run got
    store = connected.token_store
    kept = leftover(store, "killed", json.dumps(asdict(newest)).encode())
    older = asdict(spent) | {"saved_at": spent.saved_at - 60}
    others = [
        leftover(store, "older", json.dumps(older).encode()),  # an earlier save, superseded
        leftover(store, "cut", json.dumps(asdict(newest)).encode()[:40] + b"\0" * 100),  # cut short
        leftover(store, "empty", b"\0" * RESERVED_BYTES),  # reserved, never written
    ]
    saved = store.read_bytes()
    before = token_stats(server)
    move_clock(server, ACCESS_TTL + 1)  # this run must refresh: with the store's token, a reuse

    connected.run(resources=RESOURCES)

    stats = token_stats(server)
    assert stats["reuse_revocations"] == stats["rejected"] == 0, stats
    assert stats["refreshed"] == before["refreshed"] + 1, stats
    now = stored(connected)
    assert store.read_bytes() != saved
    assert now.saved_at > newest.saved_at
    assert now.refresh_token not in {newest.refresh_token, spent.refresh_token}
    assert file_mode(store) == 0o600
    assert not kept.exists() and not any(path.exists() for path in others)
    assert list(store.parent.glob(f".{store.name}.*")) == []
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []


def test_a_leftover_older_than_the_store_is_removed_and_not_used(connected: Connected) -> None:
    server = connected.server
    connected.run(resources=RESOURCES)
    current = stored(connected)
    store = connected.token_store
    older = asdict(current) | {"saved_at": current.saved_at - 1}
    stale = leftover(store, "stale", json.dumps(older).encode())
    saved = store.read_bytes()
    move_clock(server, ACCESS_TTL + 1)
    connected.run(resources=RESOURCES)
    assert not stale.exists()
    assert token_stats(server)["reuse_revocations"] == 0
    assert store.read_bytes() != saved and stored(connected).saved_at > current.saved_at


def test_a_read_only_token_store_refuses_before_the_refresh_is_sent(
    connected: Connected, disk: SmallDisk
) -> None:
    store = FileTokenStore(disk.path / "tokens.json")
    store.save(TokenSet(refresh_token=connected.refresh_token))  # the seed, not yet used
    saved = store.path.read_bytes()
    disk.remount("ro")
    before = token_stats(connected.server)
    with httpx.Client() as http:
        manager = TokenManager(
            store,
            token_url=connected.server.urls.token,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            http=http,
        )
        with pytest.raises(TokenStoreUnwritableError) as raised:
            manager.access_token()
    message = str(raised.value)
    assert f"{disk.path} is on a read-only file system" in message, message
    assert "no refresh was sent" in message and not raised.value.disk_full
    assert connected.refresh_token not in message
    assert manager.refreshes == 0 and token_stats(connected.server) == before
    disk.remount("rw")
    assert store.path.read_bytes() == saved
    assert list(disk.path.glob(".tokens.json.*")) == []


# -- 7. tokens never leak ------------------------------------------------------------------------


def texts_in_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Every file's text: raw bytes, gzip opened, parquet's string values, pickles as bytes."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if path.suffix == ".parquet":
            yield path, json.dumps(pq.read_table(path).to_pylist(), default=str)
        yield path, data.decode("utf-8", "replace")


def texts_in_duckdb(database: Path) -> Iterator[tuple[str, str]]:
    """Every value of every table as text, and dlt's compressed state opened."""
    with duckdb.connect(str(database), read_only=True) as db:
        tables = db.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            for row in db.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                yield f"{schema}.{table}", json.dumps(row, default=str)
            if table == "_dlt_pipeline_state":
                for (state,) in db.execute(f'SELECT state FROM "{schema}"."{table}"').fetchall():
                    yield f"{schema}.{table}.state", json.dumps(decompress_state(state), default=str)


def test_tokens_never_appear_in_logs_errors_state_or_the_warehouse(
    connected: Connected, caplog: pytest.LogCaptureFixture
) -> None:
    server = connected.server
    secrets = {connected.refresh_token}
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []

    connected.run(resources=RESOURCES)
    secrets |= secrets_of(stored(connected))
    move_clock(server, ACCESS_TTL + 1)
    connected.run(resources=RESOURCES)  # a 401, a refresh, a re-send
    secrets |= secrets_of(stored(connected))
    httpx.post(f"{server.urls.admin}/revoke_tokens").raise_for_status()
    try:
        connected.run(resources=RESOURCES)
    except ReauthorizationError as error:
        errors += [str(error), repr(error), "".join(traceback.format_exception(error))]
    assert errors, "the run with a revoked chain should have failed"
    assert token_stats(server)["refreshed"] == 2  # so every token issued is in `secrets`
    assert len(secrets) == 5

    def leaks(text: str) -> list[str]:
        return [f"…{secret[-6:]}" for secret in secrets if secret in text]

    logged = [(r.name, r.getMessage() + (r.exc_text or "")) for r in caplog.records]
    assert {"sage_source", "httpx"} <= {name for name, _ in logged}, "the check would prove nothing"
    assert [(name, leaks(text)) for name, text in logged if leaks(text)] == []
    assert [leaks(text) for text in errors if leaks(text)] == []
    files = list(texts_in_files(connected.home / "pipelines"))
    assert any(path.name == "trace.pickle" for path, _ in files) and any(
        path.name == "state.json" for path, _ in files
    )
    assert [(str(path), leaks(text)) for path, text in files if leaks(text)] == []
    stored_values = list(texts_in_duckdb(connected.database))
    assert any(where.endswith(".state") for where, _ in stored_values)
    assert [(where, leaks(text)) for where, text in stored_values if leaks(text)] == []
    # The only place the tokens live is the token store, 0600.
    assert leaks(connected.token_store.read_text())
    assert file_mode(connected.token_store) == 0o600


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [
        ("not_a_token_set", "Sage: Sage's token response lacks 'refresh_token'"),
        ("not_json", "Sage: Sage's token response is not JSON (text/html)"),  # it was a traceback, exit 1
    ],
)
def test_a_token_answer_without_tokens_is_sage_failing_exit_4(
    connected: Connected, behaviour: str, says: str
) -> None:
    """Sage sending what cannot be used is exit 4 ("try later"), from its token endpoint as from its
    API: nothing in the settings is wrong (it was exit 2)."""
    connected.run(resources=RESOURCES)
    saved = connected.token_store.read_bytes()
    loads = load_ids(connected)
    move_clock(connected.server, ACCESS_TTL + 1)  # this run's first request needs a refresh

    with TokenEndpointStub(behaviour) as stub:
        result = cli_run(connected, {**connected.env, f"{PREFIX}TOKEN_URL": stub.url})
        assert stub.posts == 1
    assert_one_clear_line(result, EXIT_SAGE, says)
    assert connected.token_store.read_bytes() == saved
    assert load_ids(connected) == loads


def test_a_refused_authorization_code_asks_for_a_new_consent(fresh_server: Build, tmp_path: Path) -> None:
    """A spent or expired code is a new consent to give (``ReauthorizationError``, exit 3), not bad
    settings (it was exit 2); nothing is written to the store."""
    server = fresh_server(invoices=5, history_days=30)
    store = FileTokenStore(tmp_path / "tokens.json")
    with httpx.Client(timeout=10) as http:
        manager = TokenManager(
            store, token_url=server.urls.token, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http=http
        )
        with pytest.raises(ReauthorizationError, match="refused the authorization code") as raised:
            manager.exchange_code("a-code-sage-never-issued", "http://localhost:8976/callback")
    assert "sage-pipeline auth" in str(raised.value)
    assert not store.path.exists()
