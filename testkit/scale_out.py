"""Many connections × businesses loaded by many worker processes at once, as a fleet would.

Used by ``tests/pipelines/test_scale_out.py`` and ``benchmarks/scale_out.py``; not a test itself.

One sandbox (one app, its request limit, short-lived access tokens and revocation of any chain
whose spent refresh token is presented again) serves every connection; each connection is its
own consent, so its own rotating chain. The chains and the request budget live in one PostgreSQL
database, the only thing the workers share. A worker is a ``sage-pipeline run --connection C
--business B`` process with its own pipeline name and DuckDB file (one partition, as the Dagster
asset runs it), so dlt state never races, and ``workers`` of them run at once whatever
connection they belong to: two partitions of one connection refresh one chain side by side.

Rounds: a first load of every partition, then (the sandbox moved a day on) incremental ones.
``kills`` workers of the first round are SIGKILLed part-way and run again after it. At the end
every partition's warehouse is compared with the sandbox's books row for row.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sage_sandbox import SandboxServer
from testkit.cli_home import clean_env
from testkit.crash_runs import duplicate_keys
from testkit.pipeline_env import PREFIX, SCRIPT, sage_env
from testkit.sage_http import CLIENT_ID, login
from testkit.sandbox_admin import usage
from testkit.warehouse import Warehouse, mismatches

WINDOW_SECONDS = 60.0
API_ROUTES = "GET /v3.1"
# Lists with a delete feed, an id-bearing child list and a payment's allocations: enough to make the
# point (every list's load is tested elsewhere) and quick on two cores.
RESOURCES = (
    "contacts",
    "sales_invoices",
    "contact_payments",
    "journals",
)  # what the request limit counts (the counters' route prefix)


@dataclass(frozen=True)
class Plan:
    connections: int
    businesses: int  # per connection: the first ``businesses`` of the sandbox's
    workers: int
    per_minute: int  # the app's limit: the sandbox's and the budget's
    rounds: int = 2  # a first load, then incremental loads a day apart
    kills: int = 0  # first-round workers killed part-way (then run again)
    kill_after: tuple[float, float] = (1.0, 6.0)  # seconds into a run a kill lands, drawn evenly
    seed: int = 0
    items_per_page: int = 200  # smaller pages: more requests per run, so runs outlive access tokens


@dataclass
class Partition:
    connection: str
    business_id: str
    root: Path

    @property
    def key(self) -> str:
        return f"{self.connection}|{self.business_id}"

    @property
    def database(self) -> Path:
        return self.root / f"{self.connection}_{self.business_id[:8]}.duckdb"

    def args(self) -> list[str]:
        return [
            "run",
            "--quiet",
            "--skip-dbt",
            "--connection",
            self.connection,
            "--business",
            self.business_id,
            "--pipeline-name",
            f"scale_{self.connection}_{self.business_id[:8]}",
            "--duckdb",
            str(self.database),
            "--pipelines-dir",
            str(self.root / "pipelines"),
        ]


@dataclass
class Figures:
    runs: int = 0
    killed: int = 0
    failed_runs: list[str] = field(default_factory=list)  # partition: exit code and last line
    refreshes: int = 0
    broken_chains: int = 0  # chains Sage revoked, and runs told to consent again
    requests: int = 0
    throttled: int = 0  # 429s
    peak_per_window: int = 0  # most API requests the app sent in any WINDOW_SECONDS (sandbox's count)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # warehouse vs books, keys held twice

    @property
    def per_minute(self) -> float:
        """The peak window's requests, per minute."""
        return self.peak_per_window * 60.0 / WINDOW_SECONDS


class Fleet:
    """The connections, their partitions and the workers' environment, for one sandbox."""

    def __init__(self, server: SandboxServer, store_url: str, root: Path, plan: Plan) -> None:
        self.server, self.plan, self.root = server, plan, root
        root.mkdir(parents=True, exist_ok=True)
        names = [f"c{number}" for number in range(1, plan.connections + 1)]
        businesses = server.sandbox.business_ids[: plan.businesses]
        self.partitions = [Partition(name, business, root) for name in names for business in businesses]
        self.env = clean_env(root, **sage_env(server, root / "tokens.json", None))
        self.env.update(
            {
                f"{PREFIX}TOKEN_STORE_CREDENTIALS": store_url,
                f"{PREFIX}REQUESTS_PER_MINUTE": str(plan.per_minute),
                f"{PREFIX}RESOURCES": json.dumps(RESOURCES),
                f"{PREFIX}ITEMS_PER_PAGE": str(plan.items_per_page),
            }
        )
        for name in names:  # one consent each: the seed of its chain, taken into the store once
            self.env[f"{PREFIX}CONNECTIONS__{name.upper()}__REFRESH_TOKEN"] = str(
                login(server.urls)["refresh_token"]
            )
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()  # the workers' threads report here
        self._failures: list[str] = []
        self._reauth = 0

    def run(self) -> Figures:
        auth = self.server.sandbox.auth.stats
        counters = self.server.sandbox.counters
        refreshed, revoked = auth.refreshed, auth.reuse_revocations
        requests, throttled = counters.total(prefix=API_ROUTES), counters.total(429, API_ROUTES)
        figures = Figures()
        busiest = self._busiest()
        started = time.monotonic()
        for number in range(self.plan.rounds):
            if number:
                self.server.sandbox.advance(1)
                busiest = max(busiest, self._busiest())  # the sandbox's clock jumps a day here
            kills = self.plan.kills if number == 0 else 0
            self._round(figures, kills)
        figures.seconds = time.monotonic() - started
        figures.refreshes = auth.refreshed - refreshed
        figures.broken_chains += auth.reuse_revocations - revoked
        figures.requests = counters.total(prefix=API_ROUTES) - requests
        figures.throttled = counters.total(429, API_ROUTES) - throttled
        figures.peak_per_window = max(busiest, self._busiest())
        figures.problems = self.problems()
        return figures

    def problems(self) -> list[str]:
        found: list[str] = []
        for partition in self.partitions:
            if not partition.database.exists():
                found.append(f"{partition.key}: no warehouse")
                continue
            with Warehouse(partition.database) as warehouse:
                found += [
                    f"{partition.key}: {p}"
                    for p in mismatches(warehouse, self.server.sandbox, [partition.business_id], RESOURCES)
                ]
            found += [f"{partition.key}: {p}" for p in duplicate_keys(partition.database)]
        return found

    # -- one round: every partition once, ``workers`` at a time ---------------------------------

    def _round(self, figures: Figures, kills: int) -> None:
        doomed = set(self._rng.sample(range(len(self.partitions)), kills))
        with ThreadPoolExecutor(self.plan.workers) as pool:
            killed = [
                partition
                for partition, was_killed in zip(
                    self.partitions,
                    pool.map(self._load, self.partitions, [i in doomed for i in range(len(self.partitions))]),
                    strict=True,
                )
                if was_killed
            ]
            figures.runs += len(self.partitions)
            figures.killed += len(killed)
            # The killed partitions run again, as a scheduler's retry would.
            list(pool.map(self._load, killed, [False] * len(killed)))
            figures.runs += len(killed)
        with self._lock:
            figures.failed_runs += self._failures
            figures.broken_chains += self._reauth
            self._failures, self._reauth = [], 0

    def _load(self, partition: Partition, kill: bool) -> bool:
        """One worker's run; True when it was killed before it finished."""
        process = subprocess.Popen(
            [str(SCRIPT), *partition.args()],
            env=self.env,
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if kill:
            try:
                process.wait(timeout=self._rng.uniform(*self.plan.kill_after))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.communicate()
                return True
        _, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            last = err.strip().splitlines()[-1] if err.strip() else ""
            with self._lock:
                self._failures.append(f"{partition.key}: exit {process.returncode}: {last}")
                if process.returncode == 3:  # Sage asks for a new consent: the chain is broken
                    self._reauth += 1
        return False

    # -- the app's requests per window ------------------------------------------------------------

    def _busiest(self) -> int:
        """The most API requests the app sent in any WINDOW_SECONDS, as the sandbox dated them."""
        return int(usage(self.server, WINDOW_SECONDS).get(CLIENT_ID, {}).get("busiest", 0))
