"""One user's set-up for ``sage-pipeline`` run as a subprocess, as a user runs it.

A private folder holds the pipeline state, the DuckDB file and the token store; the environment is
the machine's without the dlt/Sage settings a developer's shell may carry. Shared by the CLI,
disk-full, process-hygiene and package tests.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sage_sandbox import SandboxServer
from testkit.pipeline_env import SCRIPT, sage_env
from testkit.sage_http import CLIENT_SECRET, login

RESOURCES = "businesses,contacts,sales_invoices"  # enough to make the point, quick on two cores
# Settings a developer's shell may carry that would steer the CLI away from the test's sandbox.
FOREIGN = ("SOURCES__", "DESTINATION__", "DLT_", "RUNTIME__", "PIPELINES__", "NORMALIZE__", "LOAD__")


@dataclass
class Home:
    """One user's set-up: a folder with the pipeline state, the DuckDB file and the token store."""

    root: Path
    env: dict[str, str]
    secrets: set[str] = field(default_factory=set)  # every token and secret this home has seen

    @property
    def pipelines(self) -> Path:
        return self.root / "pipelines"

    @property
    def database(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def token_store(self) -> Path:
        return self.root / "tokens.json"

    def run_args(self, *extra: str, resources: str = RESOURCES) -> tuple[str, ...]:
        # The marts need every resource; tests/dbt/test_marts.py runs them through the CLI.
        return ("run", "--pipelines-dir", str(self.pipelines), "--resources", resources, "--skip-dbt", *extra)

    def remember_tokens(self) -> None:
        if self.token_store.exists():
            stored = orjson.loads(self.token_store.read_bytes())
            self.secrets.update(t for t in (stored.get("access_token"), stored.get("refresh_token")) if t)


def clean_env(root: Path, **settings: str) -> dict[str, str]:
    """The machine's environment without dlt/Sage settings, with a private HOME and dlt data dir."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(FOREIGN)}
    env.update(
        HOME=str(root / "home"),
        DLT_DATA_DIR=str(root / "dlt_data"),
        RUNTIME__DLTHUB_TELEMETRY="false",
        PYTHONUNBUFFERED="1",
        **settings,
    )
    return env


def new_home(root: Path, server: SandboxServer, seeded: bool = True) -> Home:
    """A headless first run's set-up: settings in the environment, a refresh token as the seed."""
    root.mkdir(parents=True, exist_ok=True)
    seed = str(login(server.urls)["refresh_token"]) if seeded else None
    home = Home(root, {})
    home.env = clean_env(
        root,
        **sage_env(server, home.token_store, seed),
        DESTINATION__DUCKDB__CREDENTIALS=str(home.database),
    )
    home.secrets.update({CLIENT_SECRET, *([seed] if seed else [])})
    return home


@dataclass
class AuthSession:
    process: subprocess.Popen[str]
    printed: list[str]

    @property
    def url(self) -> str:
        found = [line.strip() for line in self.printed if "/oauth2/auth/central?" in line]
        assert len(found) == 1, self.printed
        return found[0]

    def finish(self) -> tuple[str, str]:
        out, err = self.process.communicate(timeout=120)
        return "".join(self.printed) + out, err


def start_auth(home: Home, *extra: str) -> AuthSession:
    """``sage-pipeline auth --no-browser [extra]`` on a free loopback port; read up to "Waiting ..."."""
    process = subprocess.Popen(
        [
            str(SCRIPT),
            "auth",
            "--no-browser",
            "--redirect-uri",
            "http://127.0.0.1:0/callback",
            "--timeout",
            "100",
            *extra,
        ],
        env=home.env,
        cwd=home.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    printed: list[str] = []
    for line in process.stdout:  # ends when the process exits, so this cannot hang past --timeout
        printed.append(line)
        if line.startswith("Waiting for Sage"):
            break
    return AuthSession(process, printed)
