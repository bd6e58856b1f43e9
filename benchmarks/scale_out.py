"""Many connections × businesses on many workers: chains kept, the app's request limit kept, books equal.

    python -m benchmarks.scale_out --connections 3 --businesses 2 --workers 4

One sandbox Sage (one app limited to ``--per-minute`` requests a minute, access tokens of
``--access-token-ttl`` seconds, any reused refresh token revoking its chain) and one throwaway
PostgreSQL (the token chains and the request budget: all the workers share). ``--workers``
``sage-pipeline run --connection C --business B`` processes at a time load every partition (a
first load, then ``--rounds`` - 1 incremental ones a sandbox day apart); ``--kills`` workers of the
first round are SIGKILLed part-way and run again. How the fleet runs: ``testkit/scale_out.py``.

The last line reads (one line)::

    scale-out: C connections x B businesses, W workers, R refreshes, 0 broken chains,
    X req/min of N allowed, equal

X is the most API requests Sage served in any 60 seconds; "equal" means every partition's
warehouse equals the sandbox's books row for row with no key held twice (else "NOT equal").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from sage_sandbox import LimitsConfig, SandboxConfig, SandboxServer
from testkit.postgres_server import create_database, postgres_server
from testkit.sandboxes import NOW
from testkit.scale_out import Fleet, Plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale_out",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--businesses", type=int, default=2, help="per connection")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--per-minute", type=int, default=240, help="the app's limit (N)")
    parser.add_argument("--invoices", type=int, default=600, help="sales invoices per business")
    parser.add_argument("--items-per-page", type=int, default=20)
    parser.add_argument("--access-token-ttl", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each API request waits")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kills", type=int, default=2)
    args = parser.parse_args(argv)

    config = SandboxConfig(
        seed=5,
        businesses=max(args.businesses, 2),
        invoices=args.invoices,
        history_days=365,
        now=NOW,
        frozen_clock=False,
        access_token_ttl=args.access_token_ttl,
        limits=LimitsConfig(per_minute=args.per_minute, latency=args.latency),
    )
    plan = Plan(
        connections=args.connections,
        businesses=args.businesses,
        workers=args.workers,
        per_minute=args.per_minute,
        rounds=args.rounds,
        kills=args.kills,
        kill_after=(3.0, 20.0),
        items_per_page=args.items_per_page,
    )
    with (
        tempfile.TemporaryDirectory(prefix="scale-out-") as folder,
        postgres_server() as pg,
        SandboxServer(config) as server,
    ):
        store = create_database(pg, "fleet")
        figures = Fleet(server, store, Path(folder), plan).run()
    print(
        f"{figures.runs} runs ({figures.killed} killed part-way and run again) in {figures.seconds:.0f} s; "
        f"{figures.requests} API requests, {figures.throttled} answered 429; "
        f"failed runs: {len(figures.failed_runs)}"
    )
    for line in [*figures.failed_runs, *figures.problems][:10]:
        print(f"  {line}")
    equal = "equal" if not figures.problems and not figures.failed_runs else "NOT equal"
    print(
        f"scale-out: {args.connections} connections x {args.businesses} businesses, {args.workers} workers, "
        f"{figures.refreshes} refreshes, {figures.broken_chains} broken chains, "
        f"{figures.per_minute:.0f} req/min of {args.per_minute} allowed, {equal}"
    )
    return 0 if equal == "equal" and not figures.broken_chains else 1


if __name__ == "__main__":
    sys.exit(main())
