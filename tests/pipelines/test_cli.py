"""``sage-pipeline`` as a user runs it: a real subprocess, settings in environment variables, a
sandbox Sage over HTTP on loopback, a real DuckDB file, and a private home for everything dlt and
the token store write (never ``~/.dlt`` or the repository).

Bad input gets one line on stderr, the documented exit code and no Traceback, and leaves an
earlier good load exactly as it was; tokens and the client secret never reach the output, the
pipeline folder or the warehouse.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import duckdb
import httpx
import pytest
from dlt.common.versioned_state import decompress_state
from filelock import FileLock

from pipelines.demo import query_command
from pipelines.exits import Exit
from pipelines.marts import DBT_PROJECT
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.cli_home import Home, clean_env, new_home, start_auth
from testkit.pipeline_env import PREFIX, cli, one_error_line
from testkit.sage_http import sandbox_businesses
from testkit.sandbox_admin import invoices_per_business
from testkit.sandboxes import SMALL
from testkit.warehouse import snapshot

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "sage_accounting"  # the CLI's default pipeline name


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(**{**SMALL.__dict__, "invoices": 30, "history_days": 60})
    with SandboxServer(config) as served:
        yield served


@dataclass
class Loaded:
    home: Home
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def loaded(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """One good first run, shared by the tests that read it or try to spoil it."""
    home = new_home(tmp_path_factory.mktemp("loaded"), server)
    result = cli(*home.run_args(), env=home.env, cwd=home.root)
    home.remember_tokens()
    return Loaded(home, result)


# -- help -------------------------------------------------------------------------------------------


def test_help_lists_the_commands_the_run_options_and_where_settings_come_from(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    top = cli("--help", env=env, cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    for command in ("auth", "businesses", "run", "demo"):
        assert re.search(rf"^    {command}\b", top.stdout, re.MULTILINE), command
    for setting in (
        ".dlt/secrets.toml",
        "SOURCES__SAGE_ACCOUNTING__",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "TOKEN_STORE",
        "DESTINATION__DUCKDB__CREDENTIALS",
    ):
        assert setting in top.stdout, setting
    # Every exit code a scheduler may see is listed, from pipelines/exits.py, with its meaning.
    listed = top.stdout[top.stdout.index("exit codes:") :]
    assert {int(n) for n in re.findall(r"(?:^|: |· )(\d+) \w", listed, re.MULTILINE)} == set(map(int, Exit))

    run_help = cli("run", "--help", env=env, cwd=tmp_path)
    assert run_help.returncode == 0, run_help.stderr
    for option in ("--full-refresh", "--resources", "--business", "--start-date", "--dataset", "--duckdb"):
        assert option in run_help.stdout, option
    assert "DESTINATION__DUCKDB__CREDENTIALS" in run_help.stdout
    assert "sales_invoices" in run_help.stdout  # the resource names --resources takes
    assert not top.stderr and not run_help.stderr
    assert not list(tmp_path.iterdir()), "--help wrote files"


def test_version_is_the_one_pyproject_defines(tmp_path: Path) -> None:
    result = cli("--version", env=clean_env(tmp_path), cwd=tmp_path)
    defined = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (result.returncode, result.stdout, result.stderr) == (0, f"sage-pipeline {defined}\n", "")


# -- a good run -------------------------------------------------------------------------------------


def test_run_loads_the_sandbox_into_the_duckdb_file(loaded: Loaded, server: SandboxServer) -> None:
    home, result = loaded.home, loaded.result
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # The summary names the file and the dataset; progress went to stderr.
    assert f"into {home.database.resolve()} (dataset sage)" in result.stdout, result.stdout
    assert "sales_invoices" in result.stdout
    assert "Extract" in result.stderr and "sales_invoices" in result.stderr, result.stderr

    businesses = sandbox_businesses(server)
    with duckdb.connect(str(home.database), read_only=True) as db:
        rows = db.execute("SELECT business_id, id FROM sage.sales_invoices").fetchall()
        names = dict(db.execute("SELECT id, name FROM sage.businesses").fetchall())
    assert all(business and invoice for business, invoice in rows)
    for business in businesses:
        loaded_ids = {invoice for owner, invoice in rows if owner == business}
        assert loaded_ids == invoices_per_business(server, business), business
    assert len(rows) == len({(b, i) for b, i in rows})  # no duplicates
    assert names == businesses

    assert home.token_store.is_file()
    assert home.token_store.stat().st_mode & 0o777 == 0o600
    assert (home.pipelines / PIPELINE).is_dir()  # dlt state went where it was told
    assert not (home.root / ".dlt").exists() and not (home.root / "home" / ".dlt" / "pipelines").exists()


def test_businesses_lists_every_business_with_its_id_and_name(loaded: Loaded, server: SandboxServer) -> None:
    home = loaded.home
    result = cli("businesses", env=home.env, cwd=home.root)
    home.remember_tokens()
    assert result.returncode == 0, result.stderr
    businesses = sandbox_businesses(server)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"{len(businesses)} business(es):"
    listed = dict(line.split(None, 1) for line in lines[1:])
    assert listed == businesses


# -- bad input --------------------------------------------------------------------------------------


CONFIG_TOML = ".dlt/config.toml"  # among a case's changes: the file's text, in the folder the run starts in
BAD_RUNS: dict[str, tuple[tuple[str, ...], dict[str, str], int, tuple[str, ...]]] = {
    # name: (extra arguments, environment changes, exit code, what the line must say)
    "unknown resource": (
        ("--resources", "sales_invoices,invoicez"),
        {},
        2,
        ("unknown resource(s) invoicez", "choose from", "sales_invoices"),
    ),
    "unknown business": (
        ("--business", "b0gus"),
        {},
        2,
        ("b0gus", "not among this Sage user's businesses", "sage-pipeline businesses"),
    ),
    "bad start date": (
        ("--start-date", "31/01/2024"),
        {},
        2,
        ("start_date '31/01/2024'", "2024-01-31"),
    ),
    "unreachable api": (
        (),
        {f"{PREFIX}API_BASE_URL": "http://127.0.0.1:{port}/v3.1", f"{PREFIX}MAX_RETRIES": "1"},
        4,
        ("Sage:", "ConnectError", "/v3.1/businesses", "no answer from http://127.0.0.1:", "api_base_url"),
    ),
    # Sage not answering is exit 4 whether it is the API or its token endpoint (the store is empty:
    # the run must refresh before its first request).
    "unreachable token endpoint": (
        (),
        {f"{PREFIX}TOKEN_URL": "http://127.0.0.1:{port}/token", f"{PREFIX}TOKEN_STORE": "{tmp}/tokens.json"},
        4,
        ("Sage: cannot reach Sage's token endpoint http://127.0.0.1:", "/token: ", "refused"),
    ),
    "duckdb file named like the dataset": (  # DuckDB could not tell the file from the schema
        ("--duckdb", "{root}/Sage.duckdb", "--dataset", "sage"),
        {},
        2,
        ("Sage.duckdb is named like the dataset 'sage'", "Sage_warehouse.duckdb", "--dataset"),
    ),
    "unwritable duckdb": (
        ("--duckdb", "{root}/afile/warehouse.duckdb"),
        {},
        2,
        ("cannot open the destination", "afile/warehouse.duckdb", "--duckdb"),
    ),
    "unknown destination": (
        ("--destination", "duckbd"),
        {},
        2,
        ("unknown destination 'duckbd'", "duckdb, ", "postgres", "DESTINATION__DUCKBD__DESTINATION_TYPE"),
    ),
    # A destination's missing setting is named in its own section, not blamed on the Sage source.
    "postgres without credentials": (
        ("--destination", "postgres", "--pipeline-name", "sage_pg"),  # a pipeline of its own: no duckdb state
        {},
        2,
        (
            "the postgres destination is missing credentials",
            "DESTINATION__POSTGRES__CREDENTIALS (a URL such as postgresql://",
            "[destination.postgres] in .dlt/secrets.toml",
        ),
    ),
    "filesystem without a bucket url": (  # where the files go is the filesystem destination's setting
        ("--destination", "filesystem", "--pipeline-name", "sage_fs"),
        {},
        2,
        (
            "the filesystem destination is missing bucket_url",
            "DESTINATION__FILESYSTEM__BUCKET_URL (a folder, or a URL such as s3://",
            "[destination.filesystem] in .dlt/secrets.toml",
        ),
    ),
    "a number setting that is not one, in the environment": (
        (),
        {f"{PREFIX}ITEMS_PER_PAGE": "abc"},
        2,
        ("items_per_page is 'abc', which is not a whole number", "SOURCES__SAGE_ACCOUNTING__ITEMS_PER_PAGE"),
    ),
    "a number setting that is not one, in .dlt/config.toml": (
        (),
        {CONFIG_TOML: '[sources.sage_accounting]\nmax_concurrency = "x"\n'},
        2,
        (
            "max_concurrency is 'x', which is not a whole number",
            "[sources.sage_accounting] in .dlt/config.toml",
        ),
    ),
    "a pipeline name that is a path": (  # it would put its lock and state outside --pipelines-dir
        ("--pipeline-name", "../../x"),
        {},
        2,
        ("pipeline name '../../x' is not a plain name", "letters, digits"),
    ),
    "a dataset name dlt would change": (  # dlt loads `sage_prod`, where dbt would not look
        ("--dataset", "Sage-Prod"),
        {},
        2,
        ("dataset 'Sage-Prod' into 'sage_prod'", "pass --dataset sage_prod"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_RUNS))
def test_bad_input_fails_with_one_line_and_leaves_the_warehouse_alone(
    case: str, loaded: Loaded, closed_port: int, tmp_path: Path
) -> None:
    home = loaded.home
    assert loaded.result.returncode == 0, loaded.result.stderr
    args, changes, code, says = BAD_RUNS[case]
    changes = dict(changes)
    (home.root / "afile").write_text("a file where a folder would have to be\n")
    fill = {"port": str(closed_port), "root": str(home.root), "tmp": str(tmp_path)}
    before = snapshot(home.database)
    state = (home.pipelines / PIPELINE / "state.json").read_bytes()
    cwd = home.root
    if CONFIG_TOML in changes:  # the shared home keeps no .dlt/: this run starts in a folder of its own
        cwd = tmp_path
        (cwd / ".dlt").mkdir()
        (cwd / CONFIG_TOML).write_text(changes.pop(CONFIG_TOML))

    result = cli(
        *home.run_args("--quiet", *(a.format(**fill) for a in args)),
        env={**home.env, **{k: v.format(**fill) for k, v in changes.items()}},
        cwd=cwd,
    )
    home.remember_tokens()

    assert result.returncode == code, result.stderr
    line = one_error_line(result, "run")
    for words in says:
        assert words in line, line
    assert result.stdout == ""
    assert not (home.root / "Sage.duckdb").exists()  # refused before anything was read or made
    assert not list(home.root.parent.glob("*.run.lock"))  # nor a lock outside the pipelines folder
    assert snapshot(home.database) == before
    assert (home.pipelines / PIPELINE / "state.json").read_bytes() == state


def test_no_settings_at_all_names_the_missing_ones(loaded: Loaded, tmp_path: Path) -> None:
    home = loaded.home
    before = snapshot(home.database)
    env = clean_env(tmp_path, DESTINATION__DUCKDB__CREDENTIALS=str(home.database))
    for args in (home.run_args("--quiet"), ("businesses",)):
        result = cli(*args, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        line = one_error_line(result, args[0])
        assert "client_id" in line and "SOURCES__SAGE_ACCOUNTING__CLIENT_ID" in line, line
        assert ".dlt/secrets.toml" in line, line
    assert snapshot(home.database) == before


def test_a_run_after_a_failed_one_still_loads_the_same_rows(loaded: Loaded, server: SandboxServer) -> None:
    """A run that failed on its destination left nothing half-done: the next one merges cleanly."""
    home = loaded.home
    before = snapshot(home.database)
    (home.root / "afile").write_text("a file where a folder would have to be\n")
    failed = cli(
        *home.run_args("--quiet", "--duckdb", str(home.root / "afile" / "x.duckdb")),
        env=home.env,
        cwd=home.root,
    )
    assert failed.returncode == 2, failed.stderr
    result = cli(*home.run_args("--quiet"), env=home.env, cwd=home.root)
    home.remember_tokens()
    assert result.returncode == 0, result.stderr
    after = snapshot(home.database)
    assert after["sage._dlt_loads"] == before["sage._dlt_loads"] + 1
    for table in ("sage.sales_invoices", "sage.contacts", "sage.businesses"):
        assert after[table] == before[table], table
    with duckdb.connect(str(home.database), read_only=True) as db:
        count = db.execute("SELECT count(*) FROM sage.sales_invoices").fetchone()
    assert count == (sum(len(invoices_per_business(server, b)) for b in sandbox_businesses(server)),)


# -- overlapping runs -------------------------------------------------------------------------------


def test_a_second_run_while_one_holds_the_lock_exits_75_and_loads_nothing(loaded: Loaded) -> None:
    home = loaded.home
    before = snapshot(home.database)
    tokens = home.token_store.read_bytes()
    lock = FileLock(str(home.pipelines / f"{PIPELINE}.run.lock"))  # the path the runner locks
    with lock.acquire(timeout=10):
        result = cli(*home.run_args(), env=home.env, cwd=home.root)
    assert result.returncode == 75, result.stderr
    line = one_error_line(result, "run")
    assert f"another run of pipeline '{PIPELINE}' is in progress" in line, line
    assert "nothing was done" in line and "Try again" in line, line
    assert result.stdout == ""
    assert not (home.root / "Sage.duckdb").exists()  # refused before anything was read or made
    assert snapshot(home.database) == before
    assert home.token_store.read_bytes() == tokens  # it did not even talk to Sage


# -- auth -------------------------------------------------------------------------------------------


def test_auth_stores_the_tokens_0600_and_lists_the_businesses(tmp_path: Path, server: SandboxServer) -> None:
    home = new_home(tmp_path, server, seeded=False)
    session = start_auth(home)
    try:
        query = dict(parse_qsl(urlsplit(session.url).query))
        assert query["client_id"] and query["state"] and query["response_type"] == "code"
        callback = urlsplit(query["redirect_uri"])
        assert callback.hostname == "127.0.0.1" and callback.port and callback.path == "/callback"
        # What the browser does: Sage approves and redirects to the listener.
        page = httpx.get(session.url, follow_redirects=True, timeout=60)
    finally:
        out, err = session.finish()
    assert page.status_code == 200 and "approved" in page.text
    assert urlsplit(str(page.url)).port == callback.port
    assert session.process.returncode == 0, err
    assert "Traceback" not in err

    assert home.token_store.stat().st_mode & 0o777 == 0o600
    home.remember_tokens()
    assert len(home.secrets) == 3  # the client secret, the access token, the refresh token
    businesses = sandbox_businesses(server)
    assert f"{len(businesses)} business(es):" in out
    for business, name in businesses.items():
        assert f"  {business}  {name}" in out
    assert f"Tokens stored in {home.token_store}" in out
    for secret in home.secrets:
        assert secret not in out and secret not in err and secret not in page.text

    # The stored tokens are all a later command needs (no refresh token in the settings).
    listed = cli("businesses", env=home.env, cwd=home.root)
    assert listed.returncode == 0, listed.stderr
    assert all(business in listed.stdout for business in businesses)


def test_auth_refuses_an_answer_whose_state_is_not_its_own(tmp_path: Path, server: SandboxServer) -> None:
    home = new_home(tmp_path, server, seeded=False)
    session = start_auth(home)
    try:
        approval = httpx.get(session.url, timeout=60)  # Sage's redirect, not yet followed
        assert approval.status_code == 302, approval.text
        answer = urlsplit(approval.headers["location"])
        query = dict(parse_qsl(answer.query))
        assert query["code"]
        forged = urlunsplit(answer._replace(query=urlencode({**query, "state": "not-" + query["state"]})))
        page = httpx.get(forged, timeout=60)
        # The browser is told too: nothing was approved by this answer.
        assert page.status_code == 400 and "nothing was stored" in page.text, page.text
    finally:
        out, err = session.finish()
    assert session.process.returncode == 2, err
    line = one_error_line(subprocess.CompletedProcess([], 2, out, err), "auth")
    assert "state does not match" in line and "run auth again" in line, line
    assert not home.token_store.exists()
    assert not list(home.token_store.parent.glob(f".{home.token_store.name}*"))  # no half-written store


# -- secrets ----------------------------------------------------------------------------------------


def file_texts(folder: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file under a folder as bytes: gzip unpacked, Parquet read back as text."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix == ".parquet":
            with duckdb.connect() as db:
                data = repr(db.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall()).encode()
        yield path, data


def warehouse_texts(database: Path) -> Iterator[tuple[str, str]]:
    """Every value of every table as text, dlt's compressed state unpacked."""
    with duckdb.connect(str(database), read_only=True) as db:
        tables = db.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        for schema, table in tables:
            cursor = db.execute(f'SELECT * FROM "{schema}"."{table}"')
            columns = [d[0] for d in cursor.description or []]
            for row in cursor.fetchall():
                values: dict[str, Any] = dict(zip(columns, row, strict=True))
                if table == "_dlt_pipeline_state":
                    values["state"] = decompress_state(values["state"])
                yield f"{schema}.{table}", repr(values)


def test_no_token_or_client_secret_reaches_output_files_or_warehouse(loaded: Loaded) -> None:
    home = loaded.home
    # A debug run logs every request: it must still not log a token.
    debug = cli("--debug", *home.run_args(resources="businesses"), env=home.env, cwd=home.root)
    listed = cli("businesses", env=home.env, cwd=home.root)
    home.remember_tokens()
    assert debug.returncode == 0 and listed.returncode == 0, debug.stderr + listed.stderr
    assert " DEBUG " in debug.stderr  # it did run with debug logging
    secrets = home.secrets
    assert len(secrets) >= 4  # client secret, seed, and at least one access/refresh pair
    for result in (loaded.result, debug, listed):
        for secret in secrets:
            assert secret not in result.stdout and secret not in result.stderr
    scanned = 0
    for path, data in file_texts(home.pipelines):
        scanned += 1
        for secret in secrets:
            assert secret.encode() not in data, path
    assert scanned > 10, "the pipeline folder is missing its state and packages"
    tables = set()
    for table, text in warehouse_texts(home.database):
        tables.add(table)
        for secret in secrets:
            assert secret not in text, table
    assert {"sage.sales_invoices", "sage.contacts", "sage._dlt_pipeline_state"} <= tables


# -- the marts ------------------------------------------------------------------------------------


def test_run_builds_the_marts_and_exits_6_when_a_reconciliation_fails(
    server: SandboxServer, tmp_path: Path
) -> None:
    """Without --skip-dbt, a run ends with `dbt build` into the same DuckDB file; dbt's folder holds no
    secret; a reconciliation that fails makes the run exit 6 and name it, the load itself being in."""
    home = new_home(tmp_path / "home", server)
    run = ("run", "--pipelines-dir", str(home.pipelines), "--quiet")
    built = cli(*run, env=home.env, cwd=home.root, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "dbt build passed" in built.stdout
    with duckdb.connect(str(home.database), read_only=True) as db:
        marts = db.execute("select count(distinct business_id) from marts.fct_general_ledger").fetchone()
    assert marts == (2,)
    home.remember_tokens()
    dbt_files = [(path, data) for path, data in file_texts(home.pipelines) if "/dbt/" in str(path)]
    assert len(dbt_files) > 10, "dbt's logs and results are missing"
    for path, data in dbt_files:
        for secret in home.secrets:
            assert secret.encode() not in data, path

    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "tests" / "assert_books_are_broken.sql").write_text("select 1 as unreconciled\n")
    failed = cli(*run, "--dbt-project-dir", str(project), env=home.env, cwd=home.root, timeout=900)
    assert failed.returncode == 6, failed.stdout + failed.stderr
    assert "dbt build FAILED" in failed.stdout and "assert_books_are_broken" in failed.stdout
    line = one_error_line(failed, "run")
    assert "the data loaded, but dbt build failed" in line and "assert_books_are_broken" in line, line

    # A reconciliation that does not tie is recorded, not fatal to the marts: exit 6 names it.
    (project / "tests" / "assert_books_are_broken.sql").unlink()
    (project / "tests" / "reconciliation" / "assert_books_tie.sql").write_text(
        "select business_id, as_of_date, 1.5 as difference from {{ ref('fct_ar_open_items') }} limit 1\n"
    )
    unreconciled = cli(*run, "--dbt-project-dir", str(project), env=home.env, cwd=home.root, timeout=900)
    assert unreconciled.returncode == 6, unreconciled.stdout + unreconciled.stderr
    line = one_error_line(unreconciled, "run")
    assert "1 reconciliation(s) did not tie: assert_books_tie" in line, line
    with duckdb.connect(str(home.database), read_only=True) as db:
        recorded = db.execute("select test_name, difference from marts.reconciliation_failures").fetchall()
    assert recorded == [("assert_books_tie", Decimal("1.5"))]


def test_the_demo_prints_a_query_command_that_a_fresh_clone_can_run(tmp_path: Path) -> None:
    """No DuckDB command-line tool comes with the project: the command uses its Python and duckdb."""
    database = tmp_path / "a folder with spaces" / "warehouse.duckdb"
    database.parent.mkdir()
    with duckdb.connect(str(database)) as db:
        db.execute("create schema marts; create table marts.rpt_ar_aging as select 4242 as overdue")
    command = query_command(database, "select * from marts.rpt_ar_aging limit 5")
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "4242" in result.stdout


def test_a_read_only_user_loads_what_it_may_and_strict_makes_the_refusals_fail_the_run(
    tmp_path: Path,
) -> None:
    """A Read Only Sage user cannot read /contact_allocations: the run says so and loads the rest."""
    config = SandboxConfig(**{**SMALL.__dict__, "invoices": 40, "history_days": 90, "roles": "read_only"})
    with SandboxServer(config) as server:
        home = new_home(tmp_path, server)
        names = sandbox_businesses(server)
        args = home.run_args("--quiet", resources="contacts,contact_allocations")
        result = cli(*args, env=home.env, cwd=home.root)
        assert result.returncode == 0, result.stderr
        assert "Business × resource: 2 loaded, 2 skipped, 0 failed" in result.stdout, result.stdout
        for business, name in names.items():
            line = next(x for x in result.stdout.splitlines() if business in x and "skipped" in x)
            assert f"contact_allocations of business {name!r}" in line, line
            assert "Sage requires Full Access in each of Sales, Purchases and Contacts" in line, line

        strict = cli(*args, "--strict", env=home.env, cwd=home.root)
        assert strict.returncode == 4, strict.stderr
        line = one_error_line(strict, "run")
        assert "2 business × resource(s) did not load" in line and "contact_allocations" in line, line
        assert "Business × resource: 2 loaded, 2 skipped" in strict.stdout


# -- settings from files and the environment ----------------------------------------------------------

SETTINGS_CASES: dict[str, tuple[str, str, tuple[str, ...], set[str], bool]] = {
    # name: (where, TOML/env value of `resources`, extra flags, resources expected, one business only)
    "resources from the environment": ("env", '["contacts"]', (), {"contacts"}, False),
    "resources from .dlt/config.toml": ("toml", '["contacts"]', (), {"contacts"}, False),
    "a flag beats the environment": (
        "env",
        '["contacts"]',
        ("--resources", "tax_rates"),
        {"tax_rates"},
        False,
    ),
    "business_ids from the environment": ("env", '["contacts"]', (), {"contacts"}, True),
}


@pytest.mark.parametrize("case", list(SETTINGS_CASES))
def test_documented_settings_reach_the_run_from_files_and_the_environment(
    case: str, server: SandboxServer, tmp_path: Path
) -> None:
    """`sage-pipeline run` passes only the flags given, so dlt resolves the rest (env over files)."""
    where, resources, flags, expected, one_business = SETTINGS_CASES[case]
    home = new_home(tmp_path, server)
    first = next(iter(sandbox_businesses(server)))
    settings = {"resources": resources, **({"business_ids": f'["{first}"]'} if one_business else {})}
    if where == "env":
        home.env.update({f"{PREFIX}{name.upper()}": value for name, value in settings.items()})
    else:
        (home.root / ".dlt").mkdir()
        lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
        (home.root / ".dlt" / "config.toml").write_text(f"[sources.sage_accounting]\n{lines}")
    result = cli(
        "run",
        "--pipelines-dir",
        str(home.pipelines),
        "--skip-dbt",
        "--quiet",
        *flags,
        env=home.env,
        cwd=home.root,
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(home.database), read_only=True) as db:
        ran = set(db.execute("select business_id, resource from sage.sage_resource_outcomes").fetchall())
    businesses = {first} if one_business else set(sandbox_businesses(server))
    assert ran == {(b, r) for b in businesses for r in expected}


# Every typed setting, from each place dlt reads it: a value that is not of its type stops the run
# with one line naming the setting and quoting that place's value, which shows it was read there.
TYPED_SETTINGS = (
    "items_per_page",
    "overlap_seconds",
    "requests_per_minute",
    "max_concurrency",
    "id_sweep_days",
    "request_timeout",
    "max_retries",
    "retry_backoff_seconds",
    "full_refresh",
    "hard_delete",
    "strict",
)
PLACES = ("environment", "config.toml", "secrets.toml")


def put_setting(root: Path, env: dict[str, str], place: str, name: str, value: str) -> None:
    """``name = value`` in the environment or in a ``.dlt/`` file of ``root`` (the run's folder)."""
    if place == "environment":
        env[f"{PREFIX}{name.upper()}"] = value
        return
    env.pop(f"{PREFIX}{name.upper()}", None)  # the environment would beat the file
    path = root / ".dlt" / place
    path.parent.mkdir(exist_ok=True)
    text = path.read_text() if path.exists() else "[sources.sage_accounting]\n"
    path.write_text(f"{text}{name} = {json.dumps(value)}\n")


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("name", TYPED_SETTINGS)
def test_each_setting_is_read_from_each_place(
    name: str, place: str, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)
    put_setting(home.root, home.env, place, name, f"bad-{place}")
    result = cli(*home.run_args("--quiet"), env=home.env, cwd=home.root)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result, "run")
    assert f"the setting {name} is 'bad-{place}', which is not" in line, line
    assert not home.database.exists()  # refused before anything was read or made


@pytest.mark.parametrize(
    ("places", "wins"),
    [
        (("config.toml", "secrets.toml"), "secrets.toml"),
        (("config.toml", "environment"), "environment"),
        (("secrets.toml", "environment"), "environment"),
    ],
)
def test_the_environment_beats_secrets_toml_which_beats_config_toml(
    places: tuple[str, ...], wins: str, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)
    for place in places:
        put_setting(home.root, home.env, place, "max_retries", f"bad-{place}")
    result = cli(*home.run_args("--quiet"), env=home.env, cwd=home.root)
    assert result.returncode == 2, result.stderr
    assert f"max_retries is 'bad-{wins}'" in one_error_line(result, "run")


@pytest.mark.parametrize("place", ["environment", "config.toml"])
def test_requests_per_minute_0_switches_the_budget_off(
    place: str, server: SandboxServer, tmp_path: Path
) -> None:
    """``requests_per_minute = 0`` is the documented "no budget" (TOML and the environment cannot say
    None). One contact a page makes many requests: any budget would hold the run for minutes."""
    home = new_home(tmp_path, server)
    home.env[f"{PREFIX}ITEMS_PER_PAGE"] = "1"
    if place == "environment":
        home.env[f"{PREFIX}REQUESTS_PER_MINUTE"] = "0"
    else:
        del home.env[f"{PREFIX}REQUESTS_PER_MINUTE"]  # the environment would beat the file
        (home.root / ".dlt").mkdir()
        (home.root / ".dlt" / "config.toml").write_text(
            "[sources.sage_accounting]\nrequests_per_minute = 0\n"
        )
    result = cli(*home.run_args("--quiet", resources="contacts"), env=home.env, cwd=home.root, timeout=150)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(home.database), read_only=True) as db:
        row = db.execute("select sum(requests) from sage.sage_resource_outcomes").fetchone()
    assert row is not None and row[0] >= 10, row


@pytest.mark.parametrize("place", PLACES)
def test_full_refresh_from_each_place_reads_everything_again(
    place: str, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)
    first = cli(*home.run_args("--quiet", resources="sales_invoices"), env=home.env, cwd=home.root)
    assert first.returncode == 0, first.stderr
    put_setting(home.root, home.env, place, "full_refresh", "true")
    again = cli(*home.run_args("--quiet", resources="sales_invoices"), env=home.env, cwd=home.root)
    assert again.returncode == 0, again.stderr
    everything = {b: len(invoices_per_business(server, b)) for b in sandbox_businesses(server)}
    with duckdb.connect(str(home.database), read_only=True) as db:
        read = dict(
            db.execute(
                "select business_id, rows from sage.sage_resource_outcomes where resource = 'sales_invoices' "
                "and run_started_at = (select max(run_started_at) from sage.sage_resource_outcomes)"
            ).fetchall()
        )
    assert read == everything


@pytest.mark.parametrize("place", ["config.toml", "flag"])
def test_business_ids_from_a_file_or_the_flag_load_only_that_business(
    place: str, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)
    first, *others = sandbox_businesses(server)
    assert others
    flags: tuple[str, ...] = ("--business", first) if place == "flag" else ()
    if place != "flag":
        (home.root / ".dlt").mkdir()
        (home.root / ".dlt" / place).write_text(f'[sources.sage_accounting]\nbusiness_ids = ["{first}"]\n')
    result = cli(*home.run_args("--quiet", *flags, resources="contacts"), env=home.env, cwd=home.root)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(home.database), read_only=True) as db:
        loaded = {row[0] for row in db.execute("select distinct business_id from sage.contacts").fetchall()}
    assert loaded == {first}


@pytest.mark.parametrize("place", ["environment", "flag"])
def test_start_date_from_the_environment_or_the_flag(
    place: str, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)
    flags: tuple[str, ...] = ("--start-date", "2026-11-10") if place == "flag" else ()
    if place == "environment":
        home.env[f"{PREFIX}START_DATE"] = "2026-11-10"
    result = cli(*home.run_args("--quiet", *flags, resources="sales_invoices"), env=home.env, cwd=home.root)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(home.database), read_only=True) as db:
        loaded, oldest = db.execute(
            "select count(*), min(updated_at) from sage.sales_invoices"
        ).fetchone() or (0, None)
    assert 0 < loaded < sum(len(invoices_per_business(server, b)) for b in sandbox_businesses(server))
    assert oldest is not None and oldest.date().isoformat() >= "2026-11-10"


def test_start_date_from_config_toml_loads_only_what_changed_since(
    server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)
    (home.root / ".dlt").mkdir()
    (home.root / ".dlt" / "config.toml").write_text('[sources.sage_accounting]\nstart_date = "2026-11-10"\n')
    result = cli(*home.run_args("--quiet", resources="sales_invoices"), env=home.env, cwd=home.root)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(home.database), read_only=True) as db:
        loaded, oldest = db.execute(
            "select count(*), min(updated_at) from sage.sales_invoices"
        ).fetchone() or (0, None)
    everything = sum(len(invoices_per_business(server, b)) for b in sandbox_businesses(server))
    assert 0 < loaded < everything
    assert oldest is not None and oldest.date().isoformat() >= "2026-11-10"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--as-of-date", "2026/01/01"), "'2026/01/01' is not a date: use YYYY-MM-DD"),
        (("--resources", ","), "names no resource"),
    ],
    ids=["date", "resources"],
)
def test_a_bad_argument_is_one_line_and_exit_2(args: tuple[str, ...], says: str, tmp_path: Path) -> None:
    result = cli("run", *args, env=clean_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result, "run")
    assert says in line and "sage-pipeline run --help" in line, line


# -- a token store that holds no tokens -----------------------------------------------------------

NOT_TOKENS = {
    "empty list": b"[]",
    "empty object": b"{}",
    "null": b"null",
    "no refresh_token": b'{"access_token": "an-access-token", "saved_at": 1}',
    "not json": b"<html>not a token store</html>",
    "empty file": b"",
}


@pytest.mark.parametrize("content", list(NOT_TOKENS))
@pytest.mark.parametrize("command", ["run", "businesses"])
def test_a_token_store_without_tokens_asks_for_auth_in_one_line_exit_3(
    content: str, command: str, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path, server)  # with a refresh_token too: a broken store is not an empty one
    home.token_store.write_bytes(NOT_TOKENS[content])
    args = home.run_args("--quiet") if command == "run" else (command,)
    result = cli(*args, env=home.env, cwd=home.root)
    assert result.returncode == 3, result.stderr
    line = one_error_line(result, command)
    assert f"the token store {home.token_store} holds no usable tokens" in line, line
    assert "run `sage-pipeline auth`" in line and "token_store" in line, line
    assert home.token_store.read_bytes() == NOT_TOKENS[content]  # left for the user to look at
    assert not home.database.exists()
