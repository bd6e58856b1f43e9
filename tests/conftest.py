"""Shared fixtures: a small seeded sandbox on a frozen clock, served over real HTTP on loopback.

``shared_server`` is read-only by convention (tests that advance time, change limits or faults
build their own with ``fresh_server``), so tests do not depend on each other's order.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sage_sandbox import SandboxConfig, SandboxServer
from testkit.marts_builds import Built, load_and_build
from testkit.openapi import openapi_dir
from testkit.postgres_server import create_database, postgres_server
from testkit.sage_http import Api, login
from testkit.sandboxes import SMALL
from testkit.small_disk import SmallDisk, small_disk


def pytest_sessionstart(session: pytest.Session) -> None:
    """The contract tests need Sage's swagger, which is not ours to vendor: say so once, not per test."""
    path = openapi_dir()
    if not (path / "swagger-2.0.0.json").is_file():
        pytest.exit(
            f"Sage's swagger files are not at {path}. They ship beside the project in "
            "../shared/sage_openapi; set SAGE_OPENAPI_DIR to their folder and run again.",
            returncode=2,
        )


# The files that take minutes each, longest first. `make test` hands whole files to two workers
# (pytest-xdist, --dist loadfile) in the order they were collected; started last, one of these
# sets the end of the run while the other worker idles, so they are collected first.
LONG_FILES = (
    "tests/pipelines/test_crash_matrix.py",
    "tests/dbt/test_incremental.py",
    "tests/pipelines/test_properties.py",
    "tests/pipelines/test_package.py",
    "tests/dbt/test_postgres.py",
    "tests/pipelines/test_scale_out.py",
    "tests/dbt/test_forecast.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: the tests of a file, and the other files, keep their order


@pytest.fixture(scope="session")
def shared_server() -> Iterator[SandboxServer]:
    with SandboxServer(SMALL) as server:
        yield server


@pytest.fixture(scope="session")
def api(shared_server: SandboxServer) -> Iterator[Api]:
    client = Api(shared_server.urls, login(shared_server.urls)["access_token"])
    yield client
    client.close()


@pytest.fixture
def fresh_server() -> Iterator[Callable[..., SandboxServer]]:
    """Build a private server: ``fresh_server(invoices=80, seed=3)``; stopped after the test."""
    started: list[SandboxServer] = []

    def build(**changes: object) -> SandboxServer:
        settings = {**SMALL.__dict__, "invoices": 80, "history_days": 200, **changes}
        server = SandboxServer(SandboxConfig(**settings)).start()
        started.append(server)
        return server

    yield build
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Built]:
    """Each seed's books loaded and built by dbt once per session, whichever test asks first."""
    done: dict[int, Built] = {}

    def built_for(seed: int) -> Built:
        if seed not in done:
            done[seed] = load_and_build(tmp_path_factory.mktemp(f"marts{seed}"), seed)
        return done[seed]

    return built_for


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 16 MiB tmpfs at ``tmp_path/disk`` to fill up (root only); unmounted after the test."""
    with small_disk(tmp_path / "disk") as mounted:
        yield mounted


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connecting is refused, and nobody can take it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        yield int(taken.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    """One throwaway PostgreSQL server for the session (``testkit.postgres_server``); its SAGE_PG_*."""
    with postgres_server() as settings:
        yield settings


@pytest.fixture
def database(postgres: dict[str, str], request: pytest.FixtureRequest) -> str:
    """The URL (as the password role ``loader``) of a new database on that server, for this test alone."""
    return create_database(postgres, re.sub(r"\W", "_", request.node.name)[:60].lower())
