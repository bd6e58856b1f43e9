"""Many connections on one machine, through the CLI as a user runs it: ``auth --connection``,
``connections`` and ``run --connection``, each connection with its own token chain, its own settings
section, its own pipeline and warehouse, and one connection's trouble never another's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from pipelines.exits import Exit
from sage_sandbox import SandboxConfig, SandboxServer
from sage_source.token_store_postgres import PostgresTokenStore
from testkit.cli_home import Home, new_home, start_auth
from testkit.pipeline_env import PREFIX, cli
from testkit.sage_http import sandbox_businesses
from testkit.sandbox_admin import invoices_per_business
from testkit.sandboxes import SMALL


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(**{**SMALL.__dict__, "invoices": 30, "history_days": 60})
    with SandboxServer(config) as served:
        yield served


def _home(root: Path, server: SandboxServer, **settings: str) -> Home:
    """A user with no tokens yet and no DuckDB path set: each connection's pipeline names its file."""
    home = new_home(root, server, seeded=False)
    home.env.pop("DESTINATION__DUCKDB__CREDENTIALS")
    home.env.update(settings)
    return home


def _consent(home: Home, connection: str) -> str:
    """``sage-pipeline auth --connection NAME`` approved in the "browser"; what it printed."""
    session = start_auth(home, "--connection", connection)
    try:
        page = httpx.get(session.url, follow_redirects=True, timeout=60)
    finally:
        out, err = session.finish()
    assert page.status_code == 200 and session.process.returncode == 0, err
    return out


def _invoices(database: Path) -> dict[str, set[str]]:
    with duckdb.connect(str(database), read_only=True) as db:
        rows = db.execute("select business_id, id from sage.sales_invoices").fetchall()
    loaded: dict[str, set[str]] = {}
    for business, invoice in rows:
        loaded.setdefault(business, set()).add(invoice)
    return loaded


def test_each_connection_has_its_own_chain_settings_and_warehouse(
    tmp_path: Path, server: SandboxServer
) -> None:
    north, south = list(sandbox_businesses(server))[:2]
    # South's own section names one business; everything else is shared.
    home = _home(tmp_path, server, **{f"{PREFIX}CONNECTIONS__SOUTH__BUSINESS_IDS": json.dumps([south])})
    chains_before = server.sandbox.auth.stats.issued

    for name in ("north", "south"):
        out = _consent(home, name)
        assert f"Tokens stored in {tmp_path / f'tokens.{name}.json'} (mode 0600)" in out
    tokens = {name: tmp_path / f"tokens.{name}.json" for name in ("north", "south")}
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in tokens.values())
    assert server.sandbox.auth.stats.issued == chains_before + 2  # two consents, two chains
    refresh = {name: json.loads(path.read_text())["refresh_token"] for name, path in tokens.items()}
    assert refresh["north"] != refresh["south"]
    assert not home.token_store.exists()  # the default connection was never touched

    listed = cli("connections", "--pipelines-dir", str(home.pipelines), env=home.env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "2 connection(s):" in listed.stdout and "default" not in listed.stdout
    for name in ("north", "south"):
        assert f"  {name}: connected" in listed.stdout
        assert f"last run: never (on this machine) (pipeline sage_accounting_{name})" in listed.stdout
    assert listed.stdout.count(f"      {north}  ") == 2  # both users reach both businesses

    for name in ("north", "south"):
        loaded = cli(*home.run_args("--connection", name), env=home.env, cwd=tmp_path)
        assert loaded.returncode == 0, loaded.stderr
    # One warehouse per connection, each equal to the books of the businesses its settings chose.
    assert _invoices(tmp_path / "sage_accounting_north.duckdb") == {
        business: invoices_per_business(server, business) for business in (north, south)
    }
    assert _invoices(tmp_path / "sage_accounting_south.duckdb") == {
        south: invoices_per_business(server, south)
    }
    assert server.sandbox.auth.stats.reuse_revocations == 0

    again = cli(
        "connections", "--offline", "--pipelines-dir", str(home.pipelines), env=home.env, cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert "never" not in again.stdout and again.stdout.count(" UTC (pipeline sage_accounting_") == 2


def test_a_connection_without_tokens_stops_alone(tmp_path: Path, server: SandboxServer) -> None:
    home = _home(tmp_path, server)
    _consent(home, "north")
    missing = cli(*home.run_args("--connection", "west"), env=home.env, cwd=tmp_path)
    assert missing.returncode == Exit.REAUTH, missing.stderr
    assert "Run `sage-pipeline auth --connection west`" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert cli(*home.run_args("--connection", "north"), env=home.env, cwd=tmp_path).returncode == 0
    bad = cli("run", "--connection", "No Such", env=home.env, cwd=tmp_path)
    assert bad.returncode == Exit.CONFIG and "cannot name a connection" in bad.stderr


def test_the_shared_store_lists_its_connections_and_who_needs_consent(
    tmp_path: Path, server: SandboxServer, database: str
) -> None:
    home = _home(tmp_path, server, **{f"{PREFIX}TOKEN_STORE_CREDENTIALS": database})
    for name in ("alpha", "beta"):
        assert "the PostgreSQL token store" in _consent(home, name)
    beta = PostgresTokenStore(database, "beta")
    with beta.lock():
        beta.mark_needs_reconsent("invalid_grant")

    listed = cli("connections", env=home.env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "2 connection(s):" in listed.stdout
    assert "  alpha: connected" in listed.stdout
    assert (
        "  beta: Sage needs to be authorised again (connection 'beta' needs a new consent: invalid_grant)"
        in (listed.stdout)
    )
    assert "Run `sage-pipeline auth --connection beta`" in listed.stdout
    assert listed.stdout.count(" business(es):") == 1  # only alpha's were asked for
    assert (
        database.split("@", maxsplit=1)[0].rsplit(":", maxsplit=1)[-1] not in listed.stdout
    )  # the password is never shown

    refused = cli(*home.run_args("--connection", "beta"), env=home.env, cwd=tmp_path)
    assert refused.returncode == Exit.REAUTH, refused.stderr
    assert "Run `sage-pipeline auth --connection beta`" in refused.stderr
    assert cli(*home.run_args("--connection", "alpha"), env=home.env, cwd=tmp_path).returncode == 0
