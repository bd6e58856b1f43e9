"""Kill `sage-pipeline run` with SIGKILL at chosen points, recover, and check nothing was lost.

A run goes through phases that leave traces in dlt's pipeline folder: ``extract`` (a package
being written under ``normalize/``), ``normalize`` (``normalize/extracted/<id>``), ``load``
(``load/normalized/<id>``), ``after_load`` (``load/loaded/<id>``: the duplicate check,
deletions, outcomes) and ``dbt`` (a ``dbt`` child process). :func:`kill_during` waits for the
phase asked for, then a random moment more, and kills the run's process (only it: its children
must die on their own). :meth:`CrashBench.recover` runs again as a scheduler would (retrying
while another process holds the lock, exit 75) and :meth:`CrashBench.problems` compares the
warehouse with the sandbox row for row, looks for any key held twice, and for a revoked chain.

Used by ``tests/pipelines/test_crash_matrix.py`` (a dozen kills) and ``benchmarks/crash_soak.py`` (100+).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from sage_sandbox import SandboxServer
from testkit.pipeline_env import SCRIPT, sage_env
from testkit.sage_http import login
from testkit.warehouse import Warehouse, mismatches

PHASES = ("extract", "normalize", "load", "after_load", "dbt")
PIPELINE = "crash"


@dataclass
class Kill:
    asked: str  # the phase the kill waited for
    landed: str | None  # the phase the run was in when killed (None: it had already finished)
    first_load: bool
    recovery_exit: int = -1
    problems: list[str] = field(default_factory=list)


@dataclass
class CrashBench:
    """One sandbox, one token chain, one DuckDB file at a time (a new one for each first load)."""

    server: SandboxServer
    root: Path
    seed: int = 0
    warehouse_no: int = 0
    token_store: Path = field(init=False)
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.token_store = self.root / "tokens.json"
        seed_token = str(login(self.server.urls)["refresh_token"])
        self.env = {**os.environ, **sage_env(self.server, self.token_store, seed_token)}
        self.rng = random.Random(self.seed)

    # -- where the run writes ---------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.root / f"w{self.warehouse_no}"

    @property
    def database(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def pipeline_dir(self) -> Path:
        return self.home / "pipelines" / PIPELINE

    def new_warehouse(self) -> None:
        """The next run is a first load: a new DuckDB file and pipeline folder (same tokens)."""
        self.warehouse_no += 1
        self.home.mkdir(parents=True, exist_ok=True)

    def args(self, dbt: bool) -> list[str]:
        return [
            "run",
            "--quiet",
            "--duckdb",
            str(self.database),
            "--pipelines-dir",
            str(self.home / "pipelines"),
            "--pipeline-name",
            PIPELINE,
            *([] if dbt else ["--skip-dbt"]),
        ]

    # -- runs ---------------------------------------------------------------------------------

    def start(self, dbt: bool) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(SCRIPT), *self.args(dbt)],
            env=self.env,
            cwd=self.home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kill_run(self, phase: str, first_load: bool) -> Kill:
        """Start a run, kill it in ``phase``, and record where it landed."""
        before = self._packages()
        process = self.start(dbt=phase == "dbt")
        landed = kill_during(process, phase, lambda: self.phase_of(process, before), self.rng)
        return Kill(phase, landed, first_load)

    def recover(self, dbt: bool = False, patience: float = 120) -> subprocess.CompletedProcess[str]:
        """Run again until the run is not refused for a lock held by another process (exit 75)."""
        deadline = time.monotonic() + patience
        while True:
            result = subprocess.run(
                [str(SCRIPT), *self.args(dbt)],
                env=self.env,
                cwd=self.home,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if result.returncode != 75 or time.monotonic() > deadline:
                return result
            time.sleep(0.5)

    # -- what the run is doing ----------------------------------------------------------------

    def _packages(self) -> set[str]:
        found: set[str] = set()
        for folder in ("normalize", "load"):
            base = self.pipeline_dir / folder
            if base.exists():
                found.update(p.name for p in base.glob("*/*") if p.is_dir())
        return found

    def phase_of(self, process: subprocess.Popen[str], before: set[str]) -> str | None:
        """The run's phase from its traces: packages it made since it started, and its children."""
        if process.poll() is not None:
            return None
        if any(_is_dbt(_command(child)) for child in _children(process.pid)):
            return "dbt"

        for pattern, phase in _PHASE_TRACES:
            if any(p.name not in before for p in self.pipeline_dir.glob(pattern) if p.is_dir()):
                return phase
        return "start"

    # -- what must hold after recovery --------------------------------------------------------

    def problems(self) -> list[str]:
        """Differences from the sandbox, keys held twice, and revoked chains (empty: all well)."""
        with Warehouse(self.database) as warehouse:
            found = mismatches(warehouse, self.server.sandbox)
        found += duplicate_keys(self.database)
        revoked = self.server.sandbox.auth.stats.reuse_revocations
        if revoked:
            found.append(f"{revoked} token chain(s) revoked for reuse")
        return found


# A package newly in a folder says how far the run got, latest phase first.
_PHASE_TRACES = (
    ("load/loaded/*", "after_load"),
    ("load/normalized/*", "load"),
    ("normalize/extracted/*", "normalize"),
    ("normalize/*/*", "extract"),
)
_ORDER = {name: rank for rank, name in enumerate(("start", *PHASES))}
# How long to wait, at most, once a phase is seen: about the phase's length at the tests' size.
_JITTER = {"extract": 1.5, "normalize": 0.25, "load": 1.2, "after_load": 0.3, "dbt": 15.0}


def kill_during(
    process: subprocess.Popen[str],
    phase: str,
    phase_of: Callable[[], str | None],
    rng: random.Random,
    timeout: float = 300,
) -> str | None:
    """Wait until ``process`` reaches ``phase`` (or a later one), wait a random part of the
    phase's usual length, then SIGKILL it. Returns the phase it was in when killed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = phase_of()
        if now is None:
            return None
        if _ORDER[now] >= _ORDER[phase]:
            break
        time.sleep(0.002)
    time.sleep(rng.uniform(0, _JITTER[phase]))
    landed = phase_of()
    if landed is not None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return landed


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 300) -> bool:
    """SIGKILL ``process`` as soon as ``ready()`` (e.g. a number of load packages committed);
    False if it finished first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    if process.poll() is None:  # never ready: stopped all the same, and said so
        process.kill()
    process.wait()
    return False


def loaded_packages(pipeline_dir: Path) -> int:
    """Load packages a run of this pipeline has loaded and committed (``load/loaded/<id>``)."""
    return sum(1 for p in (pipeline_dir / "load" / "loaded").glob("*") if p.is_dir())


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _command(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _is_dbt(command: list[str]) -> bool:
    """``dbt build …``, run through its script's interpreter (a fork of the run itself carries
    ``--skip-dbt`` in its command line, which is no dbt)."""
    return any(Path(part).name == "dbt" for part in command[:2])


def duplicate_keys(database: Path, dataset: str = "sage") -> list[str]:
    """Every key the warehouse holds twice, whatever load wrote it (by each table's shape)."""
    found: list[str] = []
    with duckdb.connect(str(database), read_only=True) as con:
        columns: dict[str, set[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [dataset]
        ).fetchall():
            columns.setdefault(table, set()).add(column)
        for table, names in sorted(columns.items()):
            if table.startswith("_dlt"):
                continue
            if "parent_id" in names:
                key = ["business_id", "parent_id", "_dlt_list_idx"]
            elif "resource" in names and "run_started_at" in names:
                key = ["business_id", "resource", "run_started_at"]
            elif "resource" in names:
                key = ["business_id", "resource", "id"]
            else:
                key = ["business_id", "id"]
            listed = ", ".join(key)
            twice = con.execute(
                f'SELECT count(*) FROM (SELECT {listed} FROM "{dataset}"."{table}" '
                f"GROUP BY {listed} HAVING count(*) > 1)"
            ).fetchone()
            if twice and twice[0]:
                found.append(f"{table}: {twice[0]} key(s) held more than once")
    return found


def unrecord_load(pipelines_dir: Path, pipeline: str, load_id: str, tables: str) -> None:
    """The state a kill -9 leaves when it lands after the destination committed an append job and
    before dlt moved the job to ``completed_jobs``: the package is back among the unloaded, the jobs
    of the tables starting with ``tables`` are ``started``, their rows already in the tables. The
    caller deletes the load's row from ``_dlt_loads`` in its destination."""
    folder = pipelines_dir / pipeline / "load"
    package = folder / "normalized" / load_id
    shutil.move(folder / "loaded" / load_id, package)
    (package / "package_completed.json").unlink()
    for job in (package / "completed_jobs").glob(f"{tables}*"):
        job.rename(package / "started_jobs" / job.name)
