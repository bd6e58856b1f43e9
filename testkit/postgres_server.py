"""A throwaway PostgreSQL server on loopback for the tests that load into PostgreSQL.

``initdb`` makes a cluster in a temporary folder and ``pg_ctl`` starts it on a free port with trust
authentication, listening on 127.0.0.1 only; it is stopped and removed afterwards. PostgreSQL
refuses to run as root, so as root the cluster belongs to the ``postgres`` user the Debian package
creates. ``scripts/ensure_postgres.sh`` (run by ``make test``) installs the server when missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A role that logs in with a password (the ``postgres`` role is trusted: any password will do).
LOADER, LOADER_PASSWORD = "loader", "loader-s3cret"
BIN_DIRS = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]


def pg_binary(name: str) -> str | None:
    for folder in BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


def available() -> bool:
    return pg_binary("initdb") is not None and pg_binary("pg_ctl") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[dict[str, str]]:
    """Start a cluster; yield the ``SAGE_PG_*`` settings (user postgres, database sage)."""
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    assert initdb and pg_ctl, "PostgreSQL is not installed: run scripts/ensure_postgres.sh"
    folder = Path(tempfile.mkdtemp(prefix="sage-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    _run(_as_owner([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]))
    # The first matching line wins: LOADER must give its password (the tests of a wrong one need
    # that); every other role is trusted.
    hba = data / "pg_hba.conf"
    hba.write_text(f"host all {LOADER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run(_as_owner([pg_ctl, "-D", str(data), "-o", options, "-w", "start", "-l", str(folder / "log")]))
    try:
        psql = pg_binary("psql") or "psql"
        for statement in (
            "create database sage",
            f"create role {LOADER} login superuser password '{LOADER_PASSWORD}'",
        ):
            _run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", statement])
        yield {
            "SAGE_PG_HOST": "127.0.0.1",
            "SAGE_PG_PORT": str(port),
            "SAGE_PG_USER": "postgres",
            "SAGE_PG_PASSWORD": "trust-ignores-it",  # dlt insists on a password
            "SAGE_PG_DATABASE": "sage",
        }
    finally:
        stop = _as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "stop"])
        subprocess.run(stop, check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(settings: dict[str, str], name: str) -> str:
    """A new empty database on the server; its URL for the password role ``LOADER``, as a user puts
    it in ``DESTINATION__POSTGRES__CREDENTIALS``."""
    psql = pg_binary("psql") or "psql"
    host, port = settings["SAGE_PG_HOST"], settings["SAGE_PG_PORT"]
    _run([psql, "-h", host, "-p", port, "-U", "postgres", "-c", f'create database "{name}"'])
    return f"postgresql://{LOADER}:{LOADER_PASSWORD}@{host}:{port}/{name}"
