"""PostgreSQL, end to end: the pipeline's own load equals the books, and its failures are clear.

A throwaway PostgreSQL server (``testkit.postgres_server``) runs for the module; each test gets a
database of its own and loads into it with ``DESTINATION__POSTGRES__CREDENTIALS``, as a user
does. ``testkit.warehouse.PostgresWarehouse`` reads it back for the same row-for-row comparison
with the sandbox's ground truth that the DuckDB tests make. The marts on PostgreSQL are
``tests/dbt/test_postgres.py``'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import dlt
import httpx
import pytest

from pipelines.runner import RunReport
from pipelines.warehouse_server import warehouse_lock
from sage_sandbox import SandboxServer
from testkit.cli_home import new_home
from testkit.crash_runs import unrecord_load
from testkit.pipeline_env import Connected, cli, connect, one_error_line, patched_env
from testkit.postgres_server import LOADER_PASSWORD, available
from testkit.warehouse import PostgresWarehouse, mismatches

pytestmark = pytest.mark.skipif(not available(), reason="no PostgreSQL: run scripts/ensure_postgres.sh")

Build = Callable[..., SandboxServer]
CREDENTIALS = "DESTINATION__POSTGRES__CREDENTIALS"


@pytest.fixture
def connected(fresh_server: Build, tmp_path: Path) -> Connected:
    return connect(fresh_server(invoices=80, history_days=200), tmp_path)


def load(connected: Connected, url: str, **changes: object) -> RunReport:
    with patched_env({CREDENTIALS: url}):
        return connected.run(destination="postgres", **changes)


def invoices_held_twice(warehouse: PostgresWarehouse) -> int:
    _, rows = warehouse.query(
        'SELECT count(*) FROM (SELECT business_id, id FROM "sage"."sales_invoices" '
        "GROUP BY 1, 2 HAVING count(*) > 1) t",
        [],
    )
    return int(rows[0][0])


def test_first_and_incremental_loads_equal_the_books(connected: Connected, database: str) -> None:
    report = load(connected, database)
    assert report.destination == "postgres" and report.rows["sales_invoices"] > 0
    sandbox = connected.server.sandbox
    with PostgresWarehouse(database) as warehouse:
        assert mismatches(warehouse, sandbox) == []
        # Money exact in numeric, instants in timestamptz, Sage's lists as jsonb.
        invoices = warehouse.types("sales_invoices")
        assert invoices["total_amount"] == invoices["outstanding_amount"] == "DECIMAL"
        assert invoices["updated_at"] == "TIMESTAMP WITH TIME ZONE"
        assert warehouse.types("sales_invoices__invoice_lines")["unit_price"] == "DECIMAL"
        _, lists = warehouse.query(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'sage' "
            "AND table_name = 'sales_invoices' AND data_type = 'jsonb'",
            [],
        )
        assert lists[0][0] > 0  # e.g. links

    changes = [sandbox.advance(days) for days in (10, 10, 10)]  # new, edited, paid, voided, deleted
    deleted = {
        name for c in changes for b in c["businesses"].values() for name, n in b["deleted"].items() if n
    }
    assert deleted, "the sandbox should have deleted rows"
    report = load(connected, database)
    assert report.rows, "the incremental run loaded the changes"
    with PostgresWarehouse(database) as warehouse:
        assert mismatches(warehouse, sandbox) == []
        # Rows Sage deleted stay, marked (``mismatches`` leaves them out of its comparison).
        assert sum(warehouse.count(resource, "is_deleted") for resource in deleted) > 0
    # The password is in no file the runs wrote (dlt's state, schemas, trace, load packages).
    written = [path for path in connected.home.rglob("*") if path.is_file()]
    assert written and not [path for path in written if LOADER_PASSWORD.encode() in path.read_bytes()]


def test_hard_delete_and_a_full_refresh_on_postgres(connected: Connected, database: str) -> None:
    load(connected, database)
    sandbox = connected.server.sandbox
    sandbox.advance(30)
    with patched_env({"SOURCES__SAGE_ACCOUNTING__HARD_DELETE": "true"}):
        load(connected, database)
        with PostgresWarehouse(database) as warehouse:
            assert mismatches(warehouse, sandbox, hard_delete=True) == []
            assert warehouse.count("sales_invoices", "is_deleted") == 0
        # A full refresh re-reads every list (id sweeps included) and merges: each key once.
        load(connected, database, full_refresh=True)
        with PostgresWarehouse(database) as warehouse:
            assert mismatches(warehouse, sandbox, hard_delete=True) == []
            assert invoices_held_twice(warehouse) == 0


def test_an_append_postgres_committed_before_a_kill_is_loaded_once(
    connected: Connected, database: str
) -> None:
    """A kill after PostgreSQL committed the first load's append, before dlt recorded it: the next
    run rewinds the append (``pipelines.pending``) and loads each key once."""
    invoices = ["sales_invoices"]
    report = load(connected, database, resources=invoices)
    trace = report.pipeline.last_trace
    assert trace is not None and trace.last_load_info is not None
    load_id = str(trace.last_load_info.loads_ids[-1])
    unrecord_load(connected.home / "pipelines", "sage_test", load_id, "sales_invoices")
    with PostgresWarehouse(database) as warehouse:
        warehouse.query('DELETE FROM "sage"."_dlt_loads" WHERE load_id = ?', [load_id])
        assert warehouse.count("sales_invoices") > 0
    load(connected, database, resources=invoices)
    with PostgresWarehouse(database) as warehouse:
        assert mismatches(warehouse, connected.server.sandbox, resources=invoices) == []
        assert warehouse.count("_dlt_loads", "load_id = ?", [load_id]) == 1
        assert invoices_held_twice(warehouse) == 0


Change = Callable[[str, int], str]  # (the good URL, a closed port) → the bad URL
# (credentials as given, exit code, what the line says)
BAD_CREDENTIALS: dict[str, tuple[Change, int, str]] = {
    "a wrong password": (lambda url, _: url.replace(LOADER_PASSWORD, "not-the-password"), 2, "refused"),
    "a database that does not exist": (lambda url, _: url.rsplit("/", 1)[0] + "/no_such_db", 2, "refused"),
    "a server that is not there": (
        lambda url, port: re.sub(r":\d+/", f":{port}/", url),
        5,
        "could not be reached",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_bad_credentials_stop_the_run_before_sage_is_read(
    case: str, fresh_server: Build, database: str, closed_port: int, tmp_path: Path
) -> None:
    server = fresh_server(invoices=20)
    home = new_home(tmp_path, server)
    change, code, says = BAD_CREDENTIALS[case]
    env = {**home.env, CREDENTIALS: change(database, closed_port)}
    httpx.delete(f"{server.urls.admin}/counters")
    result = cli(*home.run_args("--destination", "postgres", "--quiet"), env=env, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    line = one_error_line(result, "run")
    assert "the postgres destination at 127.0.0.1:" in line and says in line, line
    assert CREDENTIALS in line and "[destination.postgres]" in line, line
    assert LOADER_PASSWORD not in result.stderr + result.stdout
    # Nothing was read from Sage (the seed refresh token is unspent) and nothing was loaded.
    assert not home.token_store.exists()
    assert httpx.get(f"{server.urls.admin}/counters").json() == {}
    with PostgresWarehouse(database) as warehouse:
        assert warehouse.tables() == set()


def test_two_machines_never_load_one_schema_at_once(
    fresh_server: Build, database: str, tmp_path: Path
) -> None:
    """Two pipelines folders (two machines: their file locks cannot see each other) into one schema:
    the lock in PostgreSQL lets one run at a time."""
    server = fresh_server(invoices=20)
    home = new_home(tmp_path / "a", server)
    env = {**home.env, CREDENTIALS: database}
    other = tmp_path / "other-machine"
    with patched_env({CREDENTIALS: database}):
        holder = dlt.pipeline(
            "sage_accounting", destination="postgres", dataset_name="sage", pipelines_dir=str(other)
        )
        with warehouse_lock(holder, "sage"):  # the other machine's run, mid-load
            result = cli(*home.run_args("--destination", "postgres", "--quiet"), env=env, cwd=tmp_path)
            assert result.returncode == 75, result.stderr
            line = one_error_line(result, "run")
            assert "another run into dataset 'sage' of the postgres database" in line, line
            with PostgresWarehouse(database) as warehouse:
                assert warehouse.tables() == set()
            # Another dataset in the same database is not held.
            with warehouse_lock(holder, "sage_other"):
                pass
    result = cli(*home.run_args("--destination", "postgres", "--quiet"), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with PostgresWarehouse(database) as warehouse:
        assert warehouse.count("sales_invoices") > 0
