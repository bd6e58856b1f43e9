"""A first load in windows, killed after some windows were committed, resumes at the next window.

The real CLI loads a sandbox business whose dated lists are larger than ``backfill_window_rows``
(:mod:`sage_source.backfill`), so each list is read a window of dates per pass and each pass is
loaded on its own. The run is killed (SIGKILL) once two passes are committed. While it is down,
an invoice of the oldest window (already loaded) is edited, another is re-dated into the last
window (so it is read twice) and a journal is back-dated into the oldest window.
The rerun must read only the windows not yet done (counted by the sandbox's request counters,
against each window's pages), leave the edited invoice as the killed run loaded it (no window read
twice), and the next incremental run must bring the warehouse to equal the sandbox row for row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pytest

from sage_sandbox import SandboxServer
from sage_sandbox.books.changes import edit
from sage_sandbox.config import SandboxConfig
from sage_source.backfill import BACKFILL, Backfill
from sage_source.config import SOURCE_NAME
from testkit.crash_runs import PIPELINE, CrashBench, duplicate_keys, kill_when, loaded_packages
from testkit.pipeline_env import PREFIX
from testkit.sage_http import Api, login
from testkit.warehouse import Warehouse, mismatches

RESOURCES = ("contacts", "sales_invoices", "transactions")  # contacts: an undated list, read whole
WINDOWED = ("sales_invoices", "transactions")
WINDOW_ROWS = 150  # 400 invoices: 3 windows; ~1,250 transactions: 9
PAGE = 200
COMMITTED = 2  # passes loaded before the kill


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashBench]:
    config = SandboxConfig(seed=7, businesses=1, invoices=400, history_days=200)
    with SandboxServer(config) as server:
        bench = CrashBench(server, Path(tmp_path_factory.mktemp("backfill")))
        bench.env.update(
            {
                f"{PREFIX}RESOURCES": str(list(RESOURCES)).replace("'", '"'),
                f"{PREFIX}BACKFILL_WINDOW_ROWS": str(WINDOW_ROWS),
            }
        )
        yield bench


def api_requests(bench: CrashBench) -> dict[str, int]:
    """Requests the sandbox answered per list since its counters were last reset."""
    counts = bench.server.sandbox.counters.snapshot()
    return {name: sum(counts.get(f"GET /v3.1/{name}", {}).values()) for name in RESOURCES}


def backfills(bench: CrashBench) -> dict[str, Backfill]:
    """The windows each list's first load is in, as the killed run left dlt's local state."""
    pipeline = dlt.attach(PIPELINE, pipelines_dir=str(bench.home / "pipelines"))
    resources: dict[str, Any] = pipeline.state["sources"][SOURCE_NAME]["resources"]
    business = bench.server.sandbox.business_ids[0]
    return {name: Backfill(resources[name][business][BACKFILL]) for name in WINDOWED}


def pages_of_windows(bench: CrashBench, name: str, backfill: Backfill, first: int) -> int:
    """The pages Sage needs to list windows ``first``… of a list (a window of no rows is one page)."""
    api = Api(bench.server.urls, str(login(bench.server.urls)["access_token"]))
    business = bench.server.sandbox.business_ids[0]
    try:
        totals = [
            api.ok(f"/{name}", business, items_per_page=1, **window.params())["$total"]
            for window in backfill.windows[first:]
        ]
    finally:
        api.close()
    return sum(max(1, math.ceil(total / PAGE)) for total in totals)


def test_a_killed_first_load_resumes_at_its_next_window(bench: CrashBench) -> None:
    sandbox = bench.server.sandbox
    business = sandbox.business_ids[0]

    # An uninterrupted first load: what a resumed one is measured against.
    bench.new_warehouse()
    sandbox.counters.reset()
    assert bench.recover().returncode == 0
    full = api_requests(bench)
    whole_passes = loaded_packages(bench.pipeline_dir)
    assert whole_passes > COMMITTED + 2, whole_passes  # the lists really are read in windows

    # The same first load, killed once two passes are committed.
    bench.new_warehouse()
    process = bench.start(dbt=False)
    assert kill_when(process, lambda: loaded_packages(bench.pipeline_dir) >= COMMITTED)
    left = backfills(bench)
    assert all(0 < b.done < len(b.windows) for b in left.values()), {n: b.state for n, b in left.items()}

    # While it is down: an invoice of the first window (loaded) is edited, another is re-dated into
    # the last window (not read yet: it will be read twice, and must be held once), and a journal is
    # back-dated into the first window.
    oldest, second = sorted(sandbox.ground_truth(business)["sales_invoices"], key=lambda row: row["date"])[:2]
    today = datetime.fromtimestamp(sandbox.clock.now_ts(), UTC).date().isoformat()
    with sandbox.lock:
        books = sandbox.business(business)
        now = sandbox.clock.now_ts()
        for row, change in ((oldest, {"notes": "Re-sent"}), (second, {"date": today})):
            position = books["sales_invoices"].position_of(row["id"])
            assert position is not None
            edit(books, "sales_invoices", position, now, **change)
    sandbox.backdate_journal(business, days_ago=199, amount=Decimal("123.45"))
    sandbox.move_clock(3600)  # down for an hour: far more than the overlap the next reads go back

    # The rerun reads only the windows not yet done, and none of the plan's probes again.
    sandbox.counters.reset()
    resumed = bench.recover()
    assert resumed.returncode == 0, resumed.stderr
    reread = api_requests(bench)
    for name, backfill in left.items():
        assert reread[name] == pages_of_windows(bench, name, backfill, backfill.done), (name, reread, full)
    assert sum(reread.values()) < sum(full.values()) * 0.85, (reread, full)
    with Warehouse(bench.database) as warehouse:
        loaded = warehouse.rows("sales_invoices", "id = ?", [oldest["id"]])
        assert [row["notes"] for row in loaded] == [oldest["notes"]]  # its window was not read again
        moved = warehouse.rows("sales_invoices", "id = ?", [second["id"]])
        assert [str(row["date"]) for row in moved] == [today]  # read again in its new window, held once
        assert mismatches(warehouse, sandbox, resources=RESOURCES)  # the edit is not in yet
    assert not duplicate_keys(bench.database)

    # The first incremental run reads what changed since the backfill began: equal, row for row.
    assert bench.recover().returncode == 0
    with Warehouse(bench.database) as warehouse:
        assert mismatches(warehouse, sandbox, resources=RESOURCES) == []
        assert [r["notes"] for r in warehouse.rows("sales_invoices", "id = ?", [oldest["id"]])] == ["Re-sent"]
    assert not duplicate_keys(bench.database)
