"""The crash soak: 100+ kill -9s of `sage-pipeline run` at random points, each followed by a run.

    .venv/bin/python -m benchmarks.crash_soak --kills 120 --seed 1

One sandbox (2 businesses, 5-second access tokens: nearly every request refreshes and rotates
the refresh token), one token chain for the whole soak. Each round either starts a new warehouse
(a first load, one round in four) or lets a few days of business happen (an incremental load),
then starts a run, kills it (SIGKILL, the run's process only) in a phase drawn at random
(extract, normalize, load, after the load, dbt), and runs again as a scheduler would. After
each recovery the warehouse is compared with the sandbox row for row, every table is searched
for a key held twice, and the sandbox is asked whether it revoked a chain for reuse.

The last line reads ``soak: K kills (L landed in a run), D duplicate keys, M rows lost or
wrong, C chains lost, R recoveries failed``; the figures are per round in ``--json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from sage_sandbox import SandboxServer
from sage_sandbox.config import SandboxConfig
from testkit.crash_runs import PHASES, CrashBench

# dbt runs take ~20 s here, the other phases a few seconds: dbt is drawn less often.
WEIGHTS = {"extract": 3, "normalize": 2, "load": 3, "after_load": 2, "dbt": 1}


def soak(kills: int, seed: int, invoices: int) -> dict[str, object]:
    config = SandboxConfig(seed=seed, businesses=2, invoices=invoices, history_days=300, access_token_ttl=5)
    rounds: list[dict[str, object]] = []
    started = time.perf_counter()
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as tmp:
        bench = CrashBench(server, Path(tmp), seed=seed)
        for number in range(kills):
            first_load = number == 0 or bench.rng.random() < 0.25
            if first_load:
                bench.new_warehouse()
            else:
                server.sandbox.advance(bench.rng.choice((0.5, 1, 3, 6)))
            phase = bench.rng.choices(PHASES, weights=[WEIGHTS[p] for p in PHASES])[0]
            kill = bench.kill_run(phase, first_load)
            recovery = bench.recover(dbt=phase == "dbt")
            problems = bench.problems() if recovery.returncode == 0 else []
            rounds.append(
                {
                    "asked": phase,
                    "landed": kill.landed,
                    "first_load": first_load,
                    "recovery_exit": recovery.returncode,
                    "recovery_error": recovery.stderr.strip()[-300:] if recovery.returncode else "",
                    "problems": problems[:5],
                    "duplicates": sum("held more than once" in p for p in problems),
                    "mismatches": sum(
                        "held more than once" not in p and "revoked" not in p for p in problems
                    ),
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
            if recovery.returncode == 3:
                break  # the chain is gone: every later run would say the same
        refreshes = server.sandbox.auth.stats.refreshed
        revoked = server.sandbox.auth.stats.reuse_revocations
    landed = Counter(str(r["landed"]) for r in rounds if r["landed"] is not None)
    return {
        "kills": len(rounds),
        "landed": sum(landed.values()),
        "landed_by_phase": dict(landed),
        "first_loads": sum(bool(r["first_load"]) for r in rounds),
        "duplicate_keys": sum(int(str(r["duplicates"])) for r in rounds),
        "mismatches": sum(int(str(r["mismatches"])) for r in rounds),
        "chains_lost": revoked,
        "recoveries_failed": sum(r["recovery_exit"] != 0 for r in rounds),
        "refreshes": refreshes,
        "minutes": round((time.perf_counter() - started) / 60, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--invoices", type=int, default=120, help="sales invoices per business")
    args = parser.parse_args()
    figures = soak(args.kills, args.seed, args.invoices)
    print(json.dumps(figures))
    print(
        f"soak: {figures['kills']} kills ({figures['landed']} landed in a run), "
        f"{figures['duplicate_keys']} duplicate keys, {figures['mismatches']} rows lost or wrong, "
        f"{figures['chains_lost']} chains lost, {figures['recoveries_failed']} recoveries failed"
    )


if __name__ == "__main__":
    main()
