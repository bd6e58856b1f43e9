"""Kill -9 at random points of first and incremental runs: nothing duplicated, lost or revoked.

A dozen runs of the real CLI against the sandbox (5-second access tokens, so nearly every
request refreshes and rotates the refresh token) are killed in extract, normalize, load, after
the load and in dbt; each is followed by an ordinary run, which must succeed and leave the
warehouse equal to the sandbox row for row, no key held twice, and the token chain alive.
The longer soak (100+ kills) is ``benchmarks/crash_soak.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sage_sandbox import SandboxServer
from sage_sandbox.config import SandboxConfig
from testkit.crash_runs import CrashBench, Kill

# (phase, first load?): each first load starts a new warehouse; incremental runs follow a
# few days of business (new, edited, paid, voided and deleted documents).
SCHEDULE = (
    ("extract", True),
    ("normalize", False),
    ("load", False),
    ("load", True),
    ("after_load", False),
    ("extract", False),
    ("load", True),
    ("normalize", True),
    ("after_load", True),
    ("load", False),
    ("extract", True),
    ("dbt", False),
)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashBench]:
    config = SandboxConfig(seed=7, businesses=2, invoices=120, history_days=300, access_token_ttl=5)
    with SandboxServer(config) as server:
        yield CrashBench(server, Path(tmp_path_factory.mktemp("crashes")), seed=12)


def test_kills_anywhere_in_a_run_lose_duplicate_and_revoke_nothing(bench: CrashBench) -> None:
    kills: list[Kill] = []
    for phase, first_load in SCHEDULE:
        if first_load:
            bench.new_warehouse()
        else:
            bench.server.sandbox.advance(bench.rng.choice((1, 3, 6)))
        kill = bench.kill_run(phase, first_load)
        recovery = bench.recover(dbt=phase == "dbt")
        kill.recovery_exit = recovery.returncode
        assert recovery.returncode == 0, f"{kill}: {recovery.stderr}"
        kill.problems = bench.problems()
        kills.append(kill)
    summary = "\n".join(
        f"{k.asked:>10} first={k.first_load!s:5} landed={k.landed} {k.problems}" for k in kills
    )
    assert all(not k.problems for k in kills), summary
    landed = [k for k in kills if k.landed is not None]
    assert len(landed) >= 10, summary
    assert {"extract", "load", "after_load", "dbt"} <= {k.landed for k in landed}, summary
    assert any(k.first_load and k.landed == "load" for k in landed), summary
