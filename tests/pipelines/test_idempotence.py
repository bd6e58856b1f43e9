"""A key is written once, whoever writes the dataset and whatever a crash left behind.

* A first load appends (the speed win) only where the destination holds none of its keys: a
  second pipeline name or pipelines folder writing the same dataset merges.
* A package cut off after the destination committed an append, before dlt recorded it, is
  rewound and loaded once (``pipelines.pending``).
* After each load the keys it wrote are checked (``pipelines.integrity``): twice is exit 5.
* Sweeps of lists without a delete feed stay linear: the tenth full refresh costs what the first does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import EXIT_LOAD, classify
from pipelines.integrity import DuplicateKeysError, duplicate_keys
from pipelines.runner import RunReport
from sage_sandbox import SandboxServer
from testkit.crash_runs import duplicate_keys as keys_held_twice
from testkit.crash_runs import unrecord_load
from testkit.pipeline_env import Connected, connect
from testkit.warehouse import mismatches

Build = Callable[..., SandboxServer]
INVOICES = ["sales_invoices"]
INVOICE_TABLES = ("sales_invoices", "sales_invoices__invoice_lines")


@pytest.fixture
def connected(fresh_server: Build, tmp_path: Path) -> Connected:
    return connect(fresh_server(invoices=60, history_days=200), tmp_path)


def dispositions(connected: Connected, pipeline: str = "sage_test") -> dict[str, str]:
    """How the last load package of ``pipeline`` wrote each invoice table."""
    loaded = sorted((connected.home / "pipelines" / pipeline / "load" / "loaded").iterdir())[-1]
    tables = json.loads((loaded / "schema.json").read_text())["tables"]
    return {name: tables[name]["write_disposition"] for name in INVOICE_TABLES}


def last_load(report: RunReport) -> str:
    trace = report.pipeline.last_trace
    assert trace is not None and trace.last_load_info is not None
    return str(trace.last_load_info.loads_ids[-1])


def test_a_first_load_appends_and_another_pipeline_on_the_same_dataset_merges(connected: Connected) -> None:
    connected.run(resources=INVOICES)
    assert dispositions(connected) == dict.fromkeys(INVOICE_TABLES, "append")
    connected.server.sandbox.advance(3)
    # Another pipeline name, then another pipelines folder: dlt state says "first load" to each.
    connected.run(resources=INVOICES, pipeline_name="sage_other")
    assert dispositions(connected, "sage_other") == dict.fromkeys(INVOICE_TABLES, "merge")
    connected.run(resources=INVOICES, pipelines_dir=str(connected.home / "elsewhere"))
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, connected.server.sandbox, resources=INVOICES) == []
    assert keys_held_twice(connected.database) == []


def test_an_append_the_destination_committed_before_a_kill_is_loaded_once(connected: Connected) -> None:
    """The state a kill -9 leaves when it lands after DuckDB committed an append job and before
    dlt moved the job to ``completed_jobs``: the package is back among the unloaded, its
    invoice jobs ``started``, and its rows already in the tables."""
    report = connected.run(resources=INVOICES)
    load_id = last_load(report)
    unrecord_load(connected.home / "pipelines", "sage_test", load_id, "sales_invoices")
    with duckdb.connect(str(connected.database)) as con:
        con.execute("DELETE FROM sage._dlt_loads WHERE load_id = ?", [load_id])
        appended = con.execute("SELECT count(*) FROM sage.sales_invoices").fetchone()
    assert appended is not None and appended[0] > 0

    connected.run(resources=INVOICES)

    assert keys_held_twice(connected.database) == []
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, connected.server.sandbox, resources=INVOICES) == []
        assert warehouse.count("_dlt_loads", "load_id = ?", [load_id]) == 1


def test_keys_written_twice_are_found_and_fail_the_run_with_exit_5(connected: Connected) -> None:
    report = connected.run(resources=INVOICES)
    pipeline = report.pipeline
    load_id = last_load(report)
    assert duplicate_keys(pipeline, [load_id]) == {}
    with duckdb.connect(str(connected.database)) as con:
        for table, copies in (("sales_invoices", 3), ("sales_invoices__invoice_lines", 2)):
            con.execute(f"INSERT INTO sage.{table} SELECT * FROM sage.{table} LIMIT {copies}")
    found = duplicate_keys(pipeline, [load_id])
    assert found == {"sales_invoices": 3, "sales_invoices__invoice_lines": 2}
    assert duplicate_keys(pipeline, ["1.0"]) == {}  # keys another load wrote are not this load's
    code, message = classify(DuplicateKeysError(found))
    assert code == EXIT_LOAD
    assert "sales_invoices (3 key(s))" in message and "--full-refresh" in message
    # A full refresh merges every key again, which rewrites each once.
    connected.run(resources=INVOICES, full_refresh=True)
    assert keys_held_twice(connected.database) == []


def test_the_tenth_full_refresh_costs_what_the_first_does(fresh_server: Build, tmp_path: Path) -> None:
    """Every full refresh lists every id again (a sweep); the sweep table's merge once grew
    quadratically with it (2.6x the first at 300 invoices, out of memory at 1,500)."""
    connected = connect(fresh_server(invoices=600, businesses=1, history_days=400), tmp_path)
    connected.run()
    seconds = []
    for _ in range(4):
        started = time.perf_counter()
        connected.run(full_refresh=True)
        seconds.append(time.perf_counter() - started)
    assert max(seconds[1:]) < 2 * seconds[0], seconds
    with duckdb.connect(str(connected.database), read_only=True) as con:
        swept = con.execute(
            "SELECT count(*), count(DISTINCT (business_id, resource, id)) FROM sage.sage_id_sweeps"
        )
        total, distinct = swept.fetchone() or (0, 0)
    assert total == distinct > 0
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, connected.server.sandbox) == []
