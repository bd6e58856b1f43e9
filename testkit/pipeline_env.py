"""A pipeline pointed at a sandbox the way a user points it at Sage: environment variables.

``Connected`` holds one sandbox, one token store (seeded with a refresh token from a real
authorization-code login, as a headless first run is) and one pipeline folder and DuckDB file,
and runs ``pipelines.runner.run`` against them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.runner import RunReport, RunRequest, run
from sage_sandbox import SandboxServer
from sage_sandbox.server import SandboxProcess
from testkit.sage_http import CLIENT_ID, CLIENT_SECRET, login
from testkit.warehouse import Warehouse

PREFIX = "SOURCES__SAGE_ACCOUNTING__"
SCRIPT = Path(sys.executable).with_name("sage-pipeline")  # the console script, as a user runs it


def cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``sage-pipeline ARGS`` in a child process: its logging and exit code are its own."""
    return subprocess.run(
        [str(SCRIPT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def one_error_line(result: subprocess.CompletedProcess[str], command: str) -> str:
    """The whole of stderr must be one line naming the command; no Traceback anywhere."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"sage-pipeline {command}: "), lines[0]
    return lines[0]


def sage_env(
    server: SandboxServer | SandboxProcess, token_store: Path, refresh_token: str | None
) -> dict[str, str]:
    urls = server.urls
    env = {
        f"{PREFIX}CLIENT_ID": CLIENT_ID,
        f"{PREFIX}CLIENT_SECRET": CLIENT_SECRET,
        f"{PREFIX}API_BASE_URL": urls.api,
        f"{PREFIX}TOKEN_URL": urls.token,
        f"{PREFIX}AUTHORIZE_URL": urls.authorize,
        f"{PREFIX}TOKEN_STORE": str(token_store),
        f"{PREFIX}REQUESTS_PER_MINUTE": "100000",  # the sandbox is unthrottled unless a test says so
        f"{PREFIX}RETRY_BACKOFF_SECONDS": "0.05",
    }
    if refresh_token:
        env[f"{PREFIX}REFRESH_TOKEN"] = refresh_token
    return env


@dataclass
class Connected:
    server: SandboxServer
    home: Path
    refresh_token: str  # the seed; spent after the first refresh

    @property
    def token_store(self) -> Path:
        return self.home / "tokens.json"

    @property
    def database(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def env(self) -> dict[str, str]:
        return sage_env(self.server, self.token_store, self.refresh_token)

    def request(self, **changes: Any) -> RunRequest:
        settings: dict[str, Any] = {
            "pipeline_name": "sage_test",
            "duckdb_path": str(self.database),
            "pipelines_dir": str(self.home / "pipelines"),
            "progress": False,
            **changes,
        }
        return RunRequest(**settings)

    def run(self, **changes: Any) -> RunReport:
        with patched_env(self.env):
            return run(self.request(**changes))

    def warehouse(self) -> Warehouse:
        return Warehouse(self.database)


def connect(server: SandboxServer, home: Path) -> Connected:
    home.mkdir(parents=True, exist_ok=True)
    return Connected(server, home, str(login(server.urls)["refresh_token"]))


@contextmanager
def patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
