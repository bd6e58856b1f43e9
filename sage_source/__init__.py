"""A dlt source for Sage Business Cloud Accounting (API v3.1).

    import dlt
    from sage_source import apply_deletions, sage_accounting

    pipeline = dlt.pipeline("sage", destination="duckdb", dataset_name="sage")
    pipeline.run(sage_accounting())
    apply_deletions(pipeline)  # marks rows Sage deleted (is_deleted / deleted_at)

Settings come the dlt way: ``[sources.sage_accounting]`` in ``.dlt/config.toml`` and
``.dlt/secrets.toml``, or ``SOURCES__SAGE_ACCOUNTING__<NAME>`` environment variables. Tokens live
in ``token_store`` (a 0600 file), not in dlt state: see :mod:`sage_source.tokens`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from sage_source.connection import ConnectionSettings, SageConnection
from sage_source.deletions import apply_deletions
from sage_source.errors import SageSourceError
from sage_source.first_load import appendable
from sage_source.resources import businesses_resource, financial_settings_resource, list_resource
from sage_source.settings import (
    DEFAULT_API_BASE_URL,
    DEFAULT_TOKEN_STORE,
    DEFAULT_TOKEN_URL,
    ENDPOINTS,
    ID_SWEEP_DAYS,
    ITEMS_PER_PAGE,
    MAX_CONCURRENCY,
    OVERLAP_SECONDS,
    REQUESTS_PER_MINUTE,
    RESOURCE_NAMES,
)
from sage_source.sync import SyncOptions
from sage_source.watermarks import parse_time

__all__ = ["RESOURCE_NAMES", "SageSourceError", "apply_deletions", "sage_accounting"]


@dlt.source(name="sage_accounting", max_table_nesting=0)
def sage_accounting(
    client_id: str = dlt.config.value,
    client_secret: TSecretStrValue = dlt.secrets.value,
    refresh_token: TSecretStrValue | None = None,
    token_store: str = DEFAULT_TOKEN_STORE,
    api_base_url: str = DEFAULT_API_BASE_URL,
    token_url: str = DEFAULT_TOKEN_URL,
    business_ids: list[str] | None = None,
    start_date: str | None = None,
    resources: list[str] | None = None,
    items_per_page: int = ITEMS_PER_PAGE,
    overlap_seconds: int = OVERLAP_SECONDS,
    requests_per_minute: int | None = REQUESTS_PER_MINUTE,
    max_concurrency: int = MAX_CONCURRENCY,
    id_sweep_days: float = ID_SWEEP_DAYS,
    request_timeout: float = 60.0,
    max_retries: int = 8,
    retry_backoff_seconds: float = 1.0,
    full_refresh: bool = False,
) -> Iterable[DltResource]:
    """Every analytics object of the selected Sage businesses, incrementally, with deletes.

    Args:
        client_id, client_secret: the app registered in Sage's developer portal.
        refresh_token: seeds an empty ``token_store`` once (headless first run); after that the
            store owns the rotating chain. ``sage-pipeline auth`` fills the store interactively.
        token_store: path of the token file (created 0600).
        api_base_url, token_url: where Sage (or a Sage-compatible server) answers.
        business_ids: businesses to load; default every business the user can reach.
        start_date: on a first run, only rows created or updated since then (ISO date/time).
        resources: Sage resources to load (default all; see ``RESOURCE_NAMES``).
        items_per_page: page size (Sage's maximum, 200, by default).
        overlap_seconds: how far before the watermark each incremental read starts again.
        requests_per_minute, max_concurrency: stay under Sage's limits (requests_per_minute 0 or None:
            no budget).
        id_sweep_days: how often lists without a delete feed are swept for vanished ids.
        request_timeout, max_retries: per request.
        retry_backoff_seconds: the first backoff after a 5xx or a dropped connection (then doubled,
            with jitter, up to a minute); a 429 waits what its ``Retry-After`` says.
        full_refresh: forget the watermarks and read everything again (tables are kept).
    """
    chosen = _chosen_resources(resources)
    since = _start_date(start_date)
    connection = SageConnection(
        ConnectionSettings(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            api_base_url=api_base_url,
            token_url=token_url,
            token_store=token_store,
            items_per_page=items_per_page,
            requests_per_minute=requests_per_minute,
            max_concurrency=max_concurrency,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_backoff_seconds=retry_backoff_seconds,
        )
    )
    names = _chosen_businesses(connection, business_ids)
    businesses = list(names)
    options = SyncOptions(
        overlap=timedelta(seconds=overlap_seconds),
        start_date=since,
        id_sweep_every=timedelta(days=id_sweep_days),
        full_refresh=full_refresh,
        business_names=names,
    )
    client = connection.client
    out: list[DltResource] = []
    if "businesses" in chosen:
        out.append(businesses_resource(businesses, client))
    if "financial_settings" in chosen:
        out.append(financial_settings_resource(businesses, client, options))
    endpoints = [e for e in ENDPOINTS if e.name in chosen]
    appended = appendable(endpoints, businesses, full_refresh)
    out.extend(list_resource(e, businesses, client, options, append=e.name in appended) for e in endpoints)
    return out


def _chosen_resources(resources: list[str] | None) -> list[str]:
    if not resources:
        return list(RESOURCE_NAMES)
    unknown = sorted(set(resources) - set(RESOURCE_NAMES))
    if unknown:
        raise SageSourceError(
            f"unknown resource(s) {', '.join(unknown)}; choose from: {', '.join(RESOURCE_NAMES)}"
        )
    return [name for name in RESOURCE_NAMES if name in resources]


def _start_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise SageSourceError(
            f"start_date {text!r} is not a date: give an ISO date or date-time such as 2024-01-31 "
            "or 2024-01-31T08:00:00Z"
        ) from None


def _chosen_businesses(connection: SageConnection, business_ids: list[str] | None) -> dict[str, str]:
    """The businesses to load, id -> name, in Sage's order."""
    names = {str(b["id"]): str(b.get("name") or b.get("displayed_as") or "") for b in connection.businesses()}
    reachable = list(names)
    if not business_ids:
        if not reachable:
            raise SageSourceError("the Sage user has no businesses to load")
        return names
    unknown = [b for b in business_ids if b not in reachable]
    if unknown:
        raise SageSourceError(
            f"business(es) {', '.join(unknown)} are not among this Sage user's businesses "
            f"({', '.join(reachable)}); `sage-pipeline businesses` lists them"
        )
    return {business_id: names[business_id] for business_id in dict.fromkeys(business_ids)}
