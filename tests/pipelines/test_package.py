"""``pip install .`` as a user does it, away from the checkout (slow: a wheel, a venv, an install).

The wheel is built from a copy of the work tree (the files git tracks or would track: what a
fresh clone holds, uncommitted edits included), with a dbt run's leftovers planted in the copy's
``dbt_models/`` that must not ship. It is installed with the ``notebook`` extra, not ``sandbox``,
into a new venv in a temporary folder, from PyPI (pip's cache and the machine's configured indexes
make it quick). The installed ``sage-pipeline`` then runs from a folder outside the checkout,
with no PYTHONPATH, so it can only find the dbt project and the notebook through its own package.
The sandbox it loads from runs in this test process, which has the ``sandbox`` extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import duckdb
import pytest

from sage_sandbox import SandboxConfig, SandboxServer
from testkit.cli_home import new_home
from testkit.pipeline_env import one_error_line
from testkit.sage_http import sandbox_businesses
from testkit.sandboxes import SMALL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DBT_LEFTOVERS = ("target/run_results.json", "logs/dbt.log", "dbt_packages/x/macros/m.sql", ".user.yml")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def script(self) -> Path:
        return self.venv / "bin" / "sage-pipeline"

    def cli(self, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.script), *args],
            env=outside_the_checkout(env, self.venv),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


def outside_the_checkout(env: dict[str, str], venv: Path) -> dict[str, str]:
    """``env`` with the venv first on PATH, and nothing that points Python at the checkout."""
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if not p.startswith(str(ROOT))]
    cleaned = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**cleaned, "PATH": os.pathsep.join([str(venv / "bin"), *path])}


def run(*command: str | Path, cwd: Path) -> None:
    env = outside_the_checkout(dict(os.environ), Path(sys.executable).parent.parent)
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"


def tracked(*folders: str) -> list[str]:
    """The work tree's files git tracks or would track (not ignored), under ``folders``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *folders],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(name for name in set(listed.split("\0")) if name and (ROOT / name).is_file())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("package")
    source = base / "source"
    for name in tracked():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for leftover in DBT_LEFTOVERS:  # what `dbt build` run by hand in dbt_models/ leaves there
        (source / "dbt_models" / leftover).parent.mkdir(parents=True, exist_ok=True)
        (source / "dbt_models" / leftover).write_text("select 1\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "--wheel-dir",
        base / "dist",
        source,
        cwd=base,
    )
    [wheel] = (base / "dist").glob("*.whl")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=base)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[notebook]", cwd=base)
    return Installed(wheel, venv)


def test_the_wheel_ships_the_dbt_project_and_the_notebook_and_no_dbt_output(installed: Installed) -> None:
    """Every file of dbt_models/ and notebooks/ is in the wheel, inside the package; nothing dbt wrote is."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    for folder in ("dbt_models", "notebooks"):
        shipped = {
            n.removeprefix(f"pipelines/{folder}/") for n in names if n.startswith(f"pipelines/{folder}/")
        }
        assert shipped == {n.removeprefix(f"{folder}/") for n in tracked(folder)}, folder
    assert "pipelines/dbt_models/dbt_project.yml" in names and "pipelines/dbt_models/profiles.yml" in names
    for python in tracked("pipelines", "sage_source", "sage_sandbox", "sage_orchestration"):  # every module
        if python.endswith(".py"):
            assert python in names, python
    assert "sage_orchestration/dagster.yaml" in names  # the README copies it into $DAGSTER_HOME


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(**{**SMALL.__dict__, "invoices": 30, "history_days": 60})) as served:
        yield served


def test_the_installed_package_loads_builds_the_marts_and_renders_the_notebook_outside_the_checkout(
    installed: Installed, server: SandboxServer, tmp_path: Path
) -> None:
    home = new_home(tmp_path / "home", server)
    site = (
        installed.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )

    version = installed.cli("--version", env=home.env, cwd=home.root)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (version.returncode, version.stdout, version.stderr) == (0, f"sage-pipeline {pyproject}\n", "")
    assert metadata.version("sage-accounting-elt") == pyproject  # this checkout's install says the same

    where = installed.venv / "bin" / "python"
    found = subprocess.run(
        [
            str(where),
            "-c",
            "import pipelines.marts as m, pipelines.notebook as n; print(m.DBT_PROJECT, n.NOTEBOOK)",
        ],
        env=outside_the_checkout(home.env, installed.venv),
        cwd=home.root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == [
        str(site / "pipelines" / "dbt_models"),
        str(site / "pipelines" / "notebooks" / "cash_flow_analysis.ipynb"),
    ]
    before = files_in(site / "pipelines")

    loaded = installed.cli(
        "run", "--pipelines-dir", str(home.pipelines), "--quiet", env=home.env, cwd=home.root
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "dbt build passed" in loaded.stdout, loaded.stdout
    with duckdb.connect(str(home.database), read_only=True) as db:
        assert db.execute("select count(distinct business_id) from marts.fct_general_ledger").fetchone() == (
            2,
        )

    name = sorted(sandbox_businesses(server).values())[0]
    reports = tmp_path / "reports"
    notebook = installed.cli(
        "notebook", "--business", name, "--out", str(reports), env=home.env, cwd=home.root
    )
    assert notebook.returncode == 0, notebook.stdout + notebook.stderr
    [page] = reports.glob("*/cash_flow_analysis.html")
    assert name in page.read_text(encoding="utf-8")

    assert files_in(site / "pipelines") == before  # dbt and papermill wrote nothing into the package
    assert not (home.root / "target").exists() and not (home.root / "logs").exists()


def test_the_demo_without_the_sandbox_extra_says_which_extra_to_install(
    installed: Installed, tmp_path: Path
) -> None:
    result = installed.cli("demo", "--dir", str(tmp_path / "demo"), env=dict(os.environ), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result, "demo")
    assert line.endswith("pip install 'sage-accounting-elt[sandbox]'"), line
    assert "starlette" in line and "uvicorn" in line, line
    assert not (tmp_path / "demo").exists()


# A destination the base install cannot load into: (its settings, the extra, what the line says it is for).
WITHOUT_EXTRA = {
    "filesystem": ({"DESTINATION__FILESYSTEM__BUCKET_URL": "{tmp}/lake"}, "lakehouse", "Delta tables"),
    "postgres": (
        {"DESTINATION__POSTGRES__CREDENTIALS": "postgresql://loader:pw@127.0.0.1:9/sage"},
        "postgres",
        "its driver and dbt target",
    ),
}


@pytest.mark.parametrize("destination", list(WITHOUT_EXTRA))
def test_a_destination_without_its_extra_says_which_extra_to_install(
    installed: Installed, tmp_path: Path, destination: str
) -> None:
    """Installed without ``[lakehouse]`` or ``[postgres]``: the CLI still starts, and the load is
    refused before Sage is read (Sage's settings point nowhere: they are never used)."""
    settings, extra, needed_for = WITHOUT_EXTRA[destination]
    sage = "SOURCES__SAGE_ACCOUNTING__"
    env = {
        **os.environ,
        **{name: value.format(tmp=tmp_path) for name, value in settings.items()},
        f"{sage}CLIENT_ID": "client",
        f"{sage}CLIENT_SECRET": "secret",
        f"{sage}REFRESH_TOKEN": "refresh",
        f"{sage}TOKEN_STORE": str(tmp_path / "tokens.json"),
        f"{sage}API_BASE_URL": "http://127.0.0.1:9/v3.1",
        f"{sage}TOKEN_URL": "http://127.0.0.1:9/token",
    }
    args = ("run", "--destination", destination, "--pipelines-dir", str(tmp_path / "pipelines"))
    result = installed.cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result, "run")
    assert line.endswith(f"pip install 'sage-accounting-elt[{extra}]'"), line
    assert f"--destination {destination} ({needed_for})" in line, line
    assert not (tmp_path / "lake").exists() and not (tmp_path / "tokens.json").exists()


def files_in(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``, relative, with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }
