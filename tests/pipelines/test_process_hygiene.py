"""What a run leaves behind when it is killed, and what it says when the DuckDB file is taken.

* dbt and the notebook (papermill, and its Jupyter kernel) are child processes: a run killed with
  SIGKILL must take them with it, or a dbt left behind keeps the DuckDB file locked and the next
  scheduled run fails. Processes are found the way an operator finds them, in ``/proc``.
* Another live process holding the DuckDB file (a second writer, a notebook left open) makes
  ``run`` and ``notebook`` exit 75, "try again", with one line naming the process: not 2, "check
  its settings".

Everything is real: the CLI in a subprocess, the sandbox over HTTP, DuckDB files, dbt, papermill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import nbformat
import pytest

from sage_sandbox import SandboxConfig, SandboxServer
from testkit.cli_home import Home, new_home
from testkit.pipeline_env import SCRIPT, cli, one_error_line
from testkit.sandboxes import SMALL

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="children are found in /proc")

RESOURCES = "businesses,contacts"
T = TypeVar("T")


# -- processes, as /proc shows them ----------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: children, grandchildren, ..."""
    below: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # it ended while we looked
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            below.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        children = below.get(todo.pop(), [])
        found += children
        todo += children
    return found


def alive(pid: int) -> bool:
    """Running (a zombie is dead: its files are closed, only its exit status waits to be read)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def has_open(pid: int, path: Path) -> bool:
    try:
        links = [str(fd.readlink()) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return str(path.resolve()) in links


def wait_for(check: Callable[[], T | None], seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds} s")


def sigkill_and_check_the_family_dies(parent: subprocess.Popen[bytes], child: int) -> None:
    """SIGKILL ``parent`` (as the OOM killer or `kill -9` does) once ``child`` runs below it; then
    every process that was below it must be gone within a couple of seconds."""
    family = descendants(parent.pid)
    assert child in family
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        left = [pid for pid in family if alive(pid)]
        deadline = time.monotonic() + 3  # ipykernel looks for its parent once a second
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [pid for pid in left if alive(pid)]
        assert not left, [command(pid) for pid in left]
    finally:
        for pid in family:  # only what this test started; never leave a dbt or a kernel running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def reaped(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """However the test ends, nothing it started keeps running: the process and every one below it."""
    try:
        yield process
    finally:
        if process.poll() is None:
            for pid in [*descendants(process.pid), process.pid]:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One good first run (without dbt) against a small sandbox, kept serving for the tests."""
    config = SandboxConfig(**{**SMALL.__dict__, "invoices": 20, "history_days": 30})
    with SandboxServer(config) as server:
        home = new_home(tmp_path_factory.mktemp("hygiene"), server)
        first = cli(*home.run_args("--quiet", resources=RESOURCES), env=home.env, cwd=home.root)
        assert first.returncode == 0, first.stderr
        yield home


@pytest.fixture
def slow_dbt_project(tmp_path: Path) -> Path:
    """A dbt project whose one model runs for many minutes in DuckDB (the project's real profile):
    a dbt that outlives its run would hold the DuckDB file long after the test's deadline."""
    project = tmp_path / "slow_dbt"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        'name: slow\nversion: "1.0.0"\nconfig-version: 2\nprofile: sage_finance\nmodel-paths: ["models"]\n'
    )
    profiles = Path(__file__).resolve().parents[2] / "dbt_models" / "profiles.yml"
    (project / "profiles.yml").write_text(profiles.read_text())
    (project / "models" / "slow.sql").write_text(
        "{{ config(materialized='table') }}\nselect sum(i) as total from range(1000000000000) as r(i)\n"
    )
    return project


def start_run_with_dbt(home: Home, project: Path, output: int) -> subprocess.Popen[bytes]:
    """`sage-pipeline run` with `dbt build` of ``project`` after the load, in the background."""
    args = ["run", "--pipelines-dir", str(home.pipelines), "--resources", RESOURCES, "--quiet"]
    return subprocess.Popen(
        [str(SCRIPT), *args, "--dbt-project-dir", str(project)],
        env=home.env,
        cwd=home.root,
        stdout=output,
        stderr=output,
    )


def below(process: subprocess.Popen[bytes], check: Callable[[int], bool]) -> int | None:
    """The process below ``process`` that passes ``check``; the process must still be running."""
    assert process.poll() is None, f"{process.args!r} ended early with {process.returncode}"
    return next((pid for pid in descendants(process.pid) if check(pid)), None)


def start_holder(database: Path) -> subprocess.Popen[str]:
    """Another process with the DuckDB file open (read-write), until it is killed."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('open', flush=True)\n"
            "time.sleep(600)\n",
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
    return holder


def tiny_marts(database: Path) -> None:
    """A DuckDB file with what `sage-pipeline notebook` checks for before it starts a kernel."""
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_cash_position_daily as select 1 as balance")
        con.execute(
            "create table marts.dim_businesses as select 'b1' as business_id, 'One Ltd' as business_name"
        )


# -- children die with the run --------------------------------------------------------------------


def test_dbt_dies_with_a_run_killed_with_sigkill_and_the_next_run_succeeds(
    home: Home, slow_dbt_project: Path
) -> None:
    with reaped(start_run_with_dbt(home, slow_dbt_project, subprocess.DEVNULL)) as run:
        dbt = wait_for(
            lambda: below(run, lambda p: has_open(p, home.database)), 120, "dbt with the DuckDB file open"
        )
        assert " build " in command(dbt), command(dbt)
        sigkill_and_check_the_family_dies(run, dbt)

    again = cli(*home.run_args("--quiet", resources=RESOURCES), env=home.env, cwd=home.root)
    assert again.returncode == 0, again.stderr


def test_papermill_and_its_kernel_die_with_a_notebook_run_killed_with_sigkill(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    tiny_marts(database)
    notebook = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        }
    )
    parameters = nbformat.v4.new_code_cell("database = business = output_dir = None")
    parameters.metadata["tags"] = ["parameters"]
    running = tmp_path / "running"  # written by the kernel once it executes the cell
    slow = f"import pathlib, time\npathlib.Path({str(running)!r}).touch()\ntime.sleep(600)"
    notebook.cells = [parameters, nbformat.v4.new_code_cell(slow)]
    path = tmp_path / "slow.ipynb"
    nbformat.write(notebook, path)
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from pipelines.notebook import NotebookRequest, run_notebooks\n"
        "run_notebooks(NotebookRequest(database=Path(sys.argv[1]), out_dir=Path(sys.argv[2]), "
        "notebook=Path(sys.argv[3])))\n"
    )
    notebooks = subprocess.Popen(
        [sys.executable, "-c", script, str(database), str(tmp_path / "out"), str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with reaped(notebooks) as run:
        kernel = wait_for(lambda: below(run, lambda p: "ipykernel" in command(p)), 120, "Jupyter kernel")
        wait_for(running.exists, 60, "cell running in the kernel")
        sigkill_and_check_the_family_dies(run, kernel)
    with duckdb.connect(str(database)) as con:  # nothing holds it: a writer gets it at once
        assert con.execute("select count(*) from marts.dim_businesses").fetchone() == (1,)


# -- a DuckDB file another process holds ----------------------------------------------------------


def test_a_run_exits_75_naming_the_process_that_holds_the_duckdb_file(home: Home) -> None:
    holder = start_holder(home.database)
    try:
        result = cli(*home.run_args("--quiet", resources=RESOURCES), env=home.env, cwd=home.root)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 75, result.stderr
    line = one_error_line(result, "run")
    assert f"the DuckDB file {home.database.resolve()} is in use by process {holder.pid} (" in line, line
    assert line.endswith("; try again when it has finished"), line
    assert result.stdout == ""


def test_a_run_whose_dbt_finds_the_duckdb_file_taken_exits_75_after_loading(
    home: Home, slow_dbt_project: Path
) -> None:
    """A process that opens the file between the load and dbt (a notebook, a DuckDB shell): the load
    is in, and dbt cannot start: 75, try again, not 6 "a model failed"."""
    with reaped(start_run_with_dbt(home, slow_dbt_project, subprocess.PIPE)) as run:
        # dbt takes seconds to start before it opens the file; the holder takes a fraction of one.
        wait_for(lambda: below(run, lambda p: " build " in command(p)), 120, "dbt started")
        holder = start_holder(home.database)
        try:
            out, err = run.communicate(timeout=120)
        finally:
            holder.kill()
            holder.wait()
    result = subprocess.CompletedProcess(run.args, run.returncode, out.decode(), err.decode())
    assert result.returncode == 75, result.stderr
    line = one_error_line(result, "run")
    assert line.startswith("sage-pipeline run: the data loaded, but dbt could not build: the DuckDB file "), (
        line
    )
    assert f"is in use by process {holder.pid} (" in line and "try again when it has finished" in line, line
    assert "Loaded " in result.stdout and "dbt build FAILED" in result.stdout


def test_a_notebook_exits_75_naming_the_process_that_holds_the_duckdb_file(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    tiny_marts(database)
    holder = start_holder(database)
    try:
        result = cli("notebook", "--duckdb", str(database), env=dict(os.environ), cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 75, result.stderr
    line = one_error_line(result, "notebook")
    assert f"the DuckDB file {database} is in use by process {holder.pid} (" in line, line
    assert line.endswith("; try again when it has finished"), line
    assert not (tmp_path / "reports").exists()
