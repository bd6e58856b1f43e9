"""Load a seeded sandbox's books into a DuckDB file, the way ``sage-pipeline run`` does.

The dbt tests build the marts on such files; developers use it to get one to work on:

    .venv/bin/python -m testkit.load_warehouse --seed 7 --invoices 300 --out /tmp/seed7.duckdb
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sage_sandbox import SandboxConfig, SandboxServer
from testkit.pipeline_env import connect

# A fixed "now" makes the books, and so every figure the marts compute, the same on every run.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def load(out: Path, seed: int, invoices: int, now: datetime = NOW) -> Path:
    """Serve the books of ``seed`` on loopback, load them all into ``out`` (replaced), return ``out``."""
    config = SandboxConfig(seed=seed, invoices=invoices, now=now, frozen_clock=True)
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as home:
        connected = connect(server, Path(home))
        connected.run()  # raises on a failed load
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(connected.database, out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    load(args.out, args.seed, args.invoices)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
