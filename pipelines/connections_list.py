"""``sage-pipeline connections``: every connection, the state of its tokens, its businesses, its last run.

Which connections exist is :mod:`sage_source.connections`' part. Each is looked at on its own: one
whose tokens are missing, refused or unreadable, or whose businesses Sage will not list now, is
shown with the reason and the others are still listed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TextIO

import dlt
from dlt.common.pipeline import get_dlt_pipelines_dir

from pipelines.runner import connection_pipeline_name
from pipelines.settings import pipeline_settings
from sage_source.config import SagePipelineConfiguration
from sage_source.connection import SageConnection
from sage_source.connections import connection_names, connection_settings
from sage_source.errors import ReauthorizationError, SageSourceError
from sage_source.token_store import open_token_store


@dataclass(frozen=True)
class ConnectionStatus:
    name: str
    tokens: str  # where its tokens live (never a password or a token)
    state: str  # connected, or why not and what to do
    connected: bool
    pipeline_name: str
    last_run: datetime | None
    businesses: list[dict[str, Any]] | None = None  # None: not asked, or Sage did not answer
    businesses_error: str | None = None


def connection_statuses(ask_sage: bool = True, pipelines_dir: str | None = None) -> list[ConnectionStatus]:
    """Every connection's status; ``ask_sage`` lists each connected one's businesses (one request)."""
    shared = pipeline_settings()
    return [_status(name, ask_sage, pipelines_dir) for name in connection_names(shared)]


def _status(name: str, ask_sage: bool, pipelines_dir: str | None) -> ConnectionStatus:
    settings = connection_settings(name, SagePipelineConfiguration)
    store = open_token_store(settings)
    pipeline_name = connection_pipeline_name(name)
    connected = False
    try:
        if store.load() is not None:
            state, connected = "connected", True
        elif settings.refresh_token:
            state, connected = "connected (the refresh_token setting seeds its first run)", True
        else:
            state = f"no tokens yet: sage-pipeline auth --connection {name}"
    except ReauthorizationError as refused:
        state = str(refused)
    except SageSourceError as broken:
        state = f"tokens unreadable: {broken}"
    status = ConnectionStatus(
        name, store.location, state, connected, pipeline_name, _last_run(pipeline_name, pipelines_dir)
    )
    if not (ask_sage and connected):
        return status
    try:
        with SageConnection(settings) as sage:
            businesses = sage.businesses()
    except SageSourceError as error:  # this connection's trouble; the others are still listed
        return replace(status, businesses_error=str(error))
    return replace(status, businesses=businesses)


def _last_run(pipeline_name: str, pipelines_dir: str | None) -> datetime | None:
    """When the connection's pipeline last finished a run on this machine (dlt's local trace)."""
    folder = pipelines_dir or get_dlt_pipelines_dir()
    try:
        trace = dlt.attach(pipeline_name, pipelines_dir=folder).last_trace
    except Exception:  # never run here, or its state is unreadable: no last run to show
        return None
    finished = getattr(trace, "finished_at", None)
    return finished.astimezone(UTC) if isinstance(finished, datetime) else None


def print_connections(statuses: list[ConnectionStatus], out: TextIO) -> None:
    print(f"{len(statuses)} connection(s):", file=out)
    for status in statuses:
        last = f"{status.last_run:%Y-%m-%d %H:%M} UTC" if status.last_run else "never (on this machine)"
        print(f"  {status.name}: {status.state}", file=out)
        print(f"    tokens: {status.tokens}", file=out)
        print(f"    last run: {last} (pipeline {status.pipeline_name})", file=out)
        if status.businesses_error:
            print(f"    businesses: not listed: {status.businesses_error}", file=out)
        elif status.businesses is not None:
            print(f"    {len(status.businesses)} business(es):", file=out)
            for business in status.businesses:
                name = business.get("name") or business.get("displayed_as") or ""
                print(f"      {business['id']}  {name}", file=out)
