"""A warehouse that is a server (PostgreSQL): reached once before Sage is read, and locked for the run.

A destination that is a file (DuckDB) is opened by the load and locked beside it (``pipelines.runner``);
one that is a server is connected to here first, so that wrong credentials, a missing database or a
server that is down stop the run with nothing read from Sage and no refresh token spent. And because
runs on two machines cannot see each other's file locks, a run into PostgreSQL also holds a lock in
the database itself, keyed by the dataset, until its marts are built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dlt
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.destinations.sql_client import SqlClientBase

from pipelines.destinations import destination_type


class DestinationLoginError(Exception):
    """The destination's server answered and refused the credentials or the database (exit 2)."""


class DestinationUnreachableError(Exception):
    """The destination's server could not be reached (exit 5: try again when it is up)."""


# What a server that answered says when the settings are wrong (PostgreSQL's words; others' alike).
_REFUSALS = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied")


def check_connection(client: SqlClientBase[Any], destination: str) -> None:
    """Connect to a warehouse server once, before Sage is read, so wrong credentials, a missing
    database or a server that is down stop the run with nothing done. Files (DuckDB, filesystem)
    are left to the load: opening them early would only create them."""
    credentials = getattr(client, "credentials", None)
    if not isinstance(credentials, ConnectionStringCredentials) or not credentials.host:
        return  # not a server (a DuckDB file's credentials are a connection string without a host)
    try:
        with client:
            pass
    except Exception as error:  # the driver's own errors differ per destination
        raise connection_error(destination, credentials, error) from None


def connection_error(
    destination: str, credentials: ConnectionStringCredentials, error: BaseException
) -> Exception:
    """One line naming the server, what it said (never the password) and the setting to fix."""
    said = " ".join(str(error).split()).split("failed: ", 1)[-1].removeprefix("FATAL: ")
    server = f"{credentials.host}:{credentials.port}" if credentials.port else str(credentials.host)
    setting = (
        f"DESTINATION__{destination.upper()}__CREDENTIALS (or credentials under "
        f"[destination.{destination}] in .dlt/secrets.toml)"
    )
    if any(refusal in said for refusal in _REFUSALS):
        return DestinationLoginError(
            f"the {destination} destination at {server} refused the connection: {said}. Fix {setting}"
        )
    return DestinationUnreachableError(
        f"the {destination} destination at {server} could not be reached: {said}. Check {setting}, "
        "or try again when the server is up"
    )


# PostgreSQL advisory locks are keyed by two integers: ours, and the dataset's hash (server side).
_LOCK_CLASS = 0x5A6E  # "sage-pipeline" runs; any constant other tools on the database do not use


@contextmanager
def warehouse_lock(pipeline: dlt.Pipeline, dataset: str) -> Iterator[None]:
    """Hold the dataset's lock *in the warehouse* for the run, so that two runs into one PostgreSQL
    schema from two machines (whose file locks cannot see each other) never interleave.

    A session-level advisory lock on a connection of its own: the server drops it when the run ends,
    or dies, or its connection is lost. Raises :class:`WarehouseLocked` when another run holds it.
    Other destinations have no such lock (the README says what protects them)."""
    if destination_type(pipeline) != "postgres":
        yield
        return
    with pipeline.sql_client() as sql:
        taken = sql.execute_sql("SELECT pg_try_advisory_lock(%s, hashtext(%s))", _LOCK_CLASS, dataset)
        if not (taken and taken[0][0]):
            raise WarehouseLocked(
                f"another run into dataset {dataset!r} of the postgres database {sql.credentials.database} "
                "(from this or another machine)"
            )
        try:
            yield
        finally:
            sql.execute_sql("SELECT pg_advisory_unlock(%s, hashtext(%s))", _LOCK_CLASS, dataset)


class WarehouseLocked(Exception):  # noqa: N818 (a state, not a failure)
    """Another run holds the dataset's lock in the warehouse."""
