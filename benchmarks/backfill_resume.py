"""A first load in windows killed half-way, then resumed: what the resumed run costs.

    .venv/bin/python -m benchmarks.backfill_resume --invoices 10000 --window-rows 5000

One sandbox business with ``--invoices`` sales invoices (and the rest of its books), every
resource, loaded by the real CLI into a new DuckDB file with ``backfill_window_rows`` set to
``--window-rows``, so the big dated lists are read a window of dates per pass, each pass loaded
and committed (:mod:`sage_source.backfill`):

1. an uninterrupted first load: its API requests and seconds;
2. the same first load in a new warehouse, killed (SIGKILL) once the sandbox has answered
   ``--kill-at`` of the first load's requests;
3. the run again, as a scheduler would: its requests and seconds against the first load's, and
   the warehouse against the sandbox's books, row for row, and for keys held twice.

The last line reads ``backfill: killed at P%, resumed run R requests (Q% of a full first load),
equal`` (or what differs); the figures are in the JSON line before it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from sage_sandbox import SandboxServer
from sage_sandbox.config import SandboxConfig
from testkit.crash_runs import CrashBench, duplicate_keys, kill_when, loaded_packages
from testkit.pipeline_env import PREFIX
from testkit.warehouse import Warehouse, mismatches

API = "GET /v3.1"  # the sandbox's counters by route: Sage's API, not the token endpoint


def resume(invoices: int, window_rows: int, kill_at: float, seed: int) -> dict[str, object]:
    config = SandboxConfig(seed=seed, businesses=1, invoices=invoices, history_days=730)
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        counters = server.sandbox.counters
        bench = CrashBench(server, Path(tmp), seed=seed)
        bench.env[f"{PREFIX}BACKFILL_WINDOW_ROWS"] = str(window_rows)

        bench.new_warehouse()
        counters.reset()
        started = time.perf_counter()
        first = bench.recover()
        full_seconds = time.perf_counter() - started
        if first.returncode != 0:
            raise SystemExit(f"the first load failed: {first.stderr.strip()[-500:]}")
        full = counters.total(prefix=API)
        passes = loaded_packages(bench.pipeline_dir)

        bench.new_warehouse()
        counters.reset()
        process = bench.start(dbt=False)
        killed = kill_when(process, lambda: counters.total(prefix=API) >= full * kill_at)
        before_kill = counters.total(prefix=API)
        committed = loaded_packages(bench.pipeline_dir)

        counters.reset()
        started = time.perf_counter()
        resumed = bench.recover()
        resumed_seconds = time.perf_counter() - started
        again = counters.total(prefix=API)
        problems = [f"the resumed run exited {resumed.returncode}: {resumed.stderr.strip()[-300:]}"]
        if resumed.returncode == 0:
            with Warehouse(bench.database) as warehouse:
                problems = mismatches(warehouse, server.sandbox)
            problems += duplicate_keys(bench.database)
    return {
        "invoices": invoices,
        "window_rows": window_rows,
        "full_requests": full,
        "full_seconds": round(full_seconds, 1),
        "full_passes": passes,
        "killed": killed,
        "killed_at_requests": before_kill,
        "killed_at_percent": round(100 * before_kill / full),
        "passes_committed_before_kill": committed,
        "resumed_requests": again,
        "resumed_percent": round(100 * again / full),
        "resumed_seconds": round(resumed_seconds, 1),
        "verdict": "equal" if not problems else f"{len(problems)} difference(s) from the sandbox",
        "problems": problems[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=10_000, help="sales invoices of the business")
    parser.add_argument("--window-rows", type=int, default=5_000, help="backfill_window_rows")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of the first load's requests")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    figures = resume(args.invoices, args.window_rows, args.kill_at, args.seed)
    print(json.dumps(figures))
    print(
        f"backfill: killed at {figures['killed_at_percent']}%, resumed run {figures['resumed_requests']:,} "
        f"requests ({figures['resumed_percent']}% of a full first load), {figures['verdict']}"
    )


if __name__ == "__main__":
    main()
