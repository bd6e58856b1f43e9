"""Workers SIGKILLed in the middle of refreshing: how often is a chain lost, and where.

    python -m benchmarks.refresh_kills --kills 100

How the workers are killed and their chains checked: ``testkit/refresh_kills.py``. A kill before
Sage rotated the token leaves the chain whole; a kill after Sage answered and before the commit
loses it (the new token was only in the dead process's memory), which no store can prevent while
Sage revokes a chain whose spent token comes back. The last line reads
``refresh kills: K, L chains lost, each between Sage's answer and the commit``.
"""

from __future__ import annotations

import argparse
import sys

from sage_sandbox import SandboxConfig, SandboxServer
from testkit.postgres_server import create_database, postgres_server
from testkit.refresh_kills import kill_refreshing_workers
from testkit.sandboxes import NOW


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.refresh_kills",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = SandboxConfig(seed=3, invoices=5, history_days=30, now=NOW, frozen_clock=False)
    with postgres_server() as pg, SandboxServer(config) as server:
        figures = kill_refreshing_workers(server, create_database(pg, "kills"), args.kills, args.seed)
    per_refresh = 1000 * figures.seconds / max(figures.refreshes, 1)
    print(
        f"{figures.refreshes} refreshes by the killed workers, {per_refresh:.1f} ms each "
        "(the sandbox on loopback)"
    )
    if figures.unexplained:
        print(f"{figures.unexplained} kill(s) whose outcome an unsaved rotation does not explain")
    print(
        f"refresh kills: {figures.kills}, {figures.lost} chains lost, "
        "each between Sage's answer and the commit"
    )
    return 1 if figures.unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
