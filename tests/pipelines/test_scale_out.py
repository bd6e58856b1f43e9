"""Three connections × two businesses loaded by four worker processes at once, sharing nothing but
PostgreSQL (token chains, request budget) and the sandbox: access tokens of four seconds, so every
chain rotates many times while partitions of one connection refresh it side by side, and workers
killed part-way through a first load. No chain may break; every partition's warehouse must equal
the sandbox's books (``testkit/scale_out.py`` says how the fleet runs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sage_sandbox import SandboxConfig, SandboxServer
from sage_sandbox.config import LimitsConfig
from testkit.sandboxes import NOW
from testkit.scale_out import Fleet, Plan


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        seed=11,
        invoices=150,
        history_days=120,
        now=NOW,
        frozen_clock=False,
        access_token_ttl=3,
        limits=LimitsConfig(latency=0.25),  # requests overlap, and each run outlives a token or two
    )
    with SandboxServer(config) as served:
        yield served


def test_four_workers_keep_every_chain_and_load_every_partition(
    tmp_path: Path, server: SandboxServer, database: str
) -> None:
    plan = Plan(
        connections=3, businesses=2, workers=4, per_minute=100_000, rounds=2, kills=2, items_per_page=10
    )
    figures = Fleet(server, database, tmp_path, plan).run()

    assert figures.failed_runs == []
    assert figures.broken_chains == 0
    assert figures.problems == []
    assert figures.killed >= 1  # at least one worker died part-way and its partition ran again
    # Several refresh cycles: the three chains rotated again and again while the workers ran.
    assert figures.refreshes >= 3 * 3, figures
    assert figures.throttled == 0
