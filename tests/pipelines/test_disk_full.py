"""A full disk, for real: a small tmpfs filled to the last byte under the token store, the DuckDB
file or dlt's pipeline folder, and ``sage-pipeline`` run against the sandbox as a user runs it.

Each time: exit 74 (sysexits EX_IOERR), one line on stderr naming the folder whose disk is full
and nothing else (no dlt or DuckDB traceback), and once space is freed the next run loads with
the same refresh-token chain: no refresh token was spent, none reused, no `sage-pipeline auth`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx

from sage_sandbox import SandboxServer
from testkit.cli_home import Home, new_home, start_auth
from testkit.pipeline_env import PREFIX, cli, one_error_line
from testkit.sage_http import sandbox_businesses
from testkit.sandbox_admin import ACCESS_TTL, invoices_per_business, move_clock, token_stats
from testkit.small_disk import SmallDisk
from testkit.warehouse import snapshot

Build = Callable[..., SandboxServer]
EXIT_DISK = 74  # pipelines/cli.py's documented exit code


def leftovers(store: Path) -> list[Path]:
    return sorted(store.parent.glob(f".{store.name}.*.tmp"))


def run(home: Home, *extra: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    args = ["--debug"] if debug else []
    return cli(*args, *home.run_args("--quiet", *extra), env=home.env, cwd=home.root)


def assert_full(result: subprocess.CompletedProcess[str], disk: SmallDisk, command: str = "run") -> str:
    assert result.returncode == EXIT_DISK, result.stderr
    line = one_error_line(result, command)
    assert f"the disk holding {disk.path}" in line and "is full" in line, line
    assert "free space there and run again" in line, line
    return line


def assert_chain_intact(server: SandboxServer, before: dict[str, int], refreshes: int) -> None:
    after = token_stats(server)
    assert after["refreshed"] == before["refreshed"] + refreshes, (before, after)
    assert after["issued"] == before["issued"], "a new consent was needed"
    assert after["reuse_revocations"] == after["rejected"] == 0, after


def assert_loaded_everything(database: Path, server: SandboxServer) -> None:
    with duckdb.connect(str(database), read_only=True) as db:
        rows = set(db.execute("SELECT business_id, id FROM sage.sales_invoices").fetchall())
    expected = {(b, i) for b in sandbox_businesses(server) for i in invoices_per_business(server, b)}
    assert rows == expected


def test_the_token_store_s_disk_full_exits_74_before_a_refresh_is_sent(
    fresh_server: Build, disk: SmallDisk, tmp_path: Path
) -> None:
    server = fresh_server(invoices=30, history_days=60)
    home = new_home(tmp_path / "home", server)
    store = disk.path / "tokens.json"
    home.env[f"{PREFIX}TOKEN_STORE"] = str(store)
    first = run(home)
    assert first.returncode == 0, first.stderr
    saved, loads = store.read_bytes(), snapshot(home.database)
    move_clock(server, ACCESS_TTL + 1)  # the next run's first request meets a 401: it must refresh
    disk.fill()
    before = token_stats(server)

    full = run(home)

    line = assert_full(full, disk)
    assert "the token chain is intact, no refresh was sent" in line, line
    assert token_stats(server) == before  # nothing reached the token endpoint
    assert store.read_bytes() == saved and leftovers(store) == []
    assert snapshot(home.database) == loads

    disk.empty()
    again = run(home)
    assert again.returncode == 0, again.stderr
    assert_chain_intact(server, before, refreshes=1)
    assert store.read_bytes() != saved and store.stat().st_mode & 0o777 == 0o600
    assert leftovers(store) == []


def test_auth_with_the_token_store_s_disk_full_exits_74_before_the_code_is_exchanged(
    fresh_server: Build, disk: SmallDisk, tmp_path: Path
) -> None:
    server = fresh_server(invoices=10, history_days=30)
    home = new_home(tmp_path / "home", server, seeded=False)
    store = disk.path / "tokens.json"
    home.env[f"{PREFIX}TOKEN_STORE"] = str(store)
    disk.fill()
    session = start_auth(home)
    try:
        page = httpx.get(session.url, follow_redirects=True, timeout=60)  # Sage approves, redirects back
    finally:
        out, err = session.finish()
    assert page.status_code == 200, page.text
    line = assert_full(subprocess.CompletedProcess([], session.process.returncode, out, err), disk, "auth")
    assert "nothing was sent to Sage" in line and "sage-pipeline auth" in line, line
    assert token_stats(server)["issued"] == 0  # the code was never exchanged
    assert not store.exists() and leftovers(store) == []


def test_the_duckdb_file_s_disk_full_is_one_line_not_dlt_s_tracebacks(
    fresh_server: Build, disk: SmallDisk, tmp_path: Path
) -> None:
    server = fresh_server(invoices=30, history_days=60)
    home = new_home(tmp_path / "home", server)
    home.env["DESTINATION__DUCKDB__CREDENTIALS"] = str(disk.path / "warehouse.duckdb")
    first = run(home)
    assert first.returncode == 0, first.stderr
    tokens = home.token_store.read_bytes()
    # Room for the run's first small writes, not for its rows: the load jobs fail and dlt retries them.
    disk.fill(leave=256 * 1024)
    before = token_stats(server)

    full = run(home, "--full-refresh")

    assert_full(full, disk)
    # What the one line stands for: dlt logged every failed job and retry with DuckDB's traceback.
    debug = run(home, "--full-refresh", debug=True)
    assert debug.returncode == EXIT_DISK, debug.stderr
    assert "Transient exception in job" in debug.stderr and "No space left on device" in debug.stderr
    assert home.token_store.read_bytes() == tokens

    disk.empty()
    move_clock(server, ACCESS_TTL + 1)  # and the next run refreshes with the stored chain
    again = run(home)
    assert again.returncode == 0, again.stderr
    assert_chain_intact(server, before, refreshes=1)
    assert_loaded_everything(disk.path / "warehouse.duckdb", server)


def test_dlt_s_pipeline_folder_s_disk_full_exits_74_naming_it(
    fresh_server: Build, disk: SmallDisk, tmp_path: Path
) -> None:
    server = fresh_server(invoices=30, history_days=60)
    home = new_home(tmp_path / "home", server)
    pipelines = disk.path / "pipelines"
    first = run(home, "--pipelines-dir", str(pipelines))
    assert first.returncode == 0, first.stderr
    disk.fill()
    before = token_stats(server)

    full = run(home, "--pipelines-dir", str(pipelines))

    assert_full(full, disk)
    disk.empty()
    move_clock(server, ACCESS_TTL + 1)
    again = run(home, "--pipelines-dir", str(pipelines))
    assert again.returncode == 0, again.stderr
    assert_chain_intact(server, before, refreshes=1)
    assert_loaded_everything(home.database, server)
