"""Every setting of the source and of ``sage-pipeline``: its name, type, default, meaning and check.

This module is the one place a setting is declared. dlt resolves it (``resolve_configuration``)
from ``[sources.sage_accounting]`` in ``.dlt/config.toml`` / ``.dlt/secrets.toml`` or from
``SOURCES__SAGE_ACCOUNTING__<NAME>`` environment variables, explicit values (a keyword argument of
``sage_accounting(...)``, a CLI flag) beating both. The source reads
:class:`SageAccountingConfiguration`; the CLI reads :class:`SagePipelineConfiguration`, the same
fields plus its own, from the same sections. The parts that talk to Sage (connection, client,
limiter) take the resolved configuration itself, so no default is written twice.

Secrets (``client_secret``, ``refresh_token``) are typed ``TSecretStrValue``: dlt reads them from
``secrets.toml`` and the environment only, and keeps their values out of its traces; ``repr`` here
leaves them out too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

import dlt
import httpx
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import BaseConfiguration, configspec
from dlt.common.configuration.specs.base_configuration import is_secret_hint
from dlt.common.typing import TSecretStrValue

from sage_source.budget import check_shared_limits
from sage_source.errors import SageSourceError
from sage_source.limiter import check_limits
from sage_source.settings import RESOURCE_NAMES
from sage_source.watermarks import parse_time

# Where every setting is looked up: ``sources.<module section>.<source name>`` is dlt's layout for
# the source ``sage_accounting`` in the package ``sage_source``; dlt also reads the compact
# ``[sources.sage_accounting]`` from it, which is what the README documents.
SOURCE_NAME = "sage_accounting"
SOURCE_SECTION = "sage_source"
SECTIONS = ("sources", SOURCE_SECTION, SOURCE_NAME)

TConfig = TypeVar("TConfig", bound="SageAccountingConfiguration")


@configspec
class SageAccountingConfiguration(BaseConfiguration):
    """What ``sage_accounting()`` reads: the Sage app, where Sage answers, what to load and how fast."""

    client_id: str = dlt.config.value
    """The app registered in Sage's developer portal (required)."""
    client_secret: TSecretStrValue = dlt.secrets.value
    """The app's secret (required; secrets.toml or the environment only)."""
    refresh_token: TSecretStrValue | None = None
    """Seeds an empty ``token_store`` once (a headless first run); after that the store owns the
    rotating chain. ``sage-pipeline auth`` fills the store interactively instead."""
    token_store: str = ".dlt/sage_accounting.tokens.json"
    """Path of the token file (created 0600)."""
    token_store_credentials: TSecretStrValue | None = None
    """A PostgreSQL URL (``postgresql://user:password@host:5432/db``; secrets.toml or the environment
    only, as its password is a secret): the token chain then lives in that database, one row per
    ``connection_name`` refreshed under a row lock, so workers on many hosts can share it, and
    ``token_store`` is not used. Needs the ``postgres`` extra."""
    connection_name: str = "default"
    """Which connection (one Sage user's token chain) is used: its row in the PostgreSQL token
    store. The token file holds one connection and ignores it."""
    api_base_url: str = "https://api.accounting.sage.com/v3.1"
    """Where Sage's API (or a Sage-compatible server: the sandbox, a proxy) answers."""
    token_url: str = "https://oauth.accounting.sage.com/token"
    """Sage's OAuth token endpoint."""
    business_ids: list[str] | None = None
    """Businesses to load; default every business the user can reach."""
    start_date: str | None = None
    """On a business's first run, only rows created or updated since then (ISO date or date-time)."""
    resources: list[str] | None = None
    """Sage resources to load (default all: ``RESOURCE_NAMES``)."""
    items_per_page: int = 200
    """Page size: Sage's maximum by default; failing big pages are retried in halves anyway."""
    overlap_seconds: int = 600
    """How far before the watermark each incremental read starts again: ten minutes, so rows
    updated in the same second as the watermark, or committed late, are not missed."""
    requests_per_minute: int | None = 200
    """Sage staff's stated ceiling (not a documented v3.1 figure), shared by every thread; with
    ``token_store_credentials`` set, by every worker of the app (``client_id``) on every host. 0
    (what TOML and the environment can say) or None: no budget."""
    max_concurrency: int = 4
    """Requests in flight at once, in this process."""
    requests_per_day: int | None = 1_296_000
    """Sage's daily quota per app (UTC days), kept by the shared budget (``token_store_credentials``)
    for every worker of the app; a lone process at 200 a minute makes at most 288,000. 0 or None:
    none."""
    app_max_concurrency: int | None = 150
    """Sage's cap on an app's requests in flight, kept by the shared budget for every worker of the
    app (``max_concurrency`` still caps each process). 0 or None: none."""
    id_sweep_days: float = 7.0
    """How often lists without a delete feed are swept for vanished ids."""
    request_timeout: float = 60.0
    """Seconds per request."""
    max_retries: int = 8
    """Retries of a 429, a 5xx or a dropped connection, per request."""
    retry_backoff_seconds: float = 1.0
    """The first backoff after a 5xx or a dropped connection (then doubled, with jitter, up to a
    minute); a 429 waits what its ``Retry-After`` says."""
    full_refresh: bool = False
    """Forget the watermarks and read everything again (tables are kept and merged)."""
    backfill_window_rows: int = 50_000
    """A business's first load of a dated list (invoices, payments, ledger entries, ...) with more
    rows than this is read in windows of document dates of about this many rows, each loaded and
    committed on its own, so an interrupted first load resumes at its next window
    (:mod:`sage_source.backfill`); 0: every first load is read whole."""

    def on_resolved(self) -> None:
        """Refuse settings that cannot work, naming the setting to fix (before anything is read)."""
        if not self.client_id or not self.client_secret:
            raise SageSourceError(
                "client_id and client_secret are not set: put them under [sources.sage_accounting] in "
                ".dlt/secrets.toml or set SOURCES__SAGE_ACCOUNTING__CLIENT_ID / __CLIENT_SECRET"
            )
        if self.token_store_credentials and not self.connection_name.strip():
            raise SageSourceError("connection_name is empty: name the connection whose tokens to use")
        for name in ("api_base_url", "token_url"):
            url = httpx.URL(getattr(self, name))
            if url.scheme not in ("http", "https") or not url.host:
                raise SageSourceError(f"{name} must be an http(s) URL, got {getattr(self, name)!r}")
        if self.backfill_window_rows < 0:
            raise SageSourceError(
                f"backfill_window_rows must be 0 (off) or more, got {self.backfill_window_rows}"
            )
        if not 1 <= self.items_per_page <= 200:
            raise SageSourceError(
                f"items_per_page must be between 1 and 200 (Sage's maximum), got {self.items_per_page}"
            )
        try:
            check_limits(self.budget, self.max_concurrency)
            check_shared_limits(self.requests_per_day, self.app_max_concurrency)
        except ValueError as error:
            raise SageSourceError(str(error)) from None
        self.chosen_resources()
        self.since()

    @property
    def budget(self) -> int | None:
        """Requests allowed per minute, None for no budget (``requests_per_minute`` 0 or None)."""
        return self.requests_per_minute or None

    def chosen_resources(self) -> list[str]:
        """``resources`` in ``RESOURCE_NAMES`` order (all when none are named); unknown ones refused."""
        if not self.resources:
            return list(RESOURCE_NAMES)
        unknown = sorted(set(self.resources) - set(RESOURCE_NAMES))
        if unknown:
            raise SageSourceError(
                f"unknown resource(s) {', '.join(unknown)}; choose from: {', '.join(RESOURCE_NAMES)}"
            )
        return [name for name in RESOURCE_NAMES if name in self.resources]

    def since(self) -> datetime | None:
        """``start_date`` as a moment, or None."""
        if not self.start_date:
            return None
        try:
            return parse_time(self.start_date)
        except ValueError:
            raise SageSourceError(
                f"start_date {self.start_date!r} is not a date: give an ISO date or date-time such as "
                "2024-01-31 or 2024-01-31T08:00:00Z"
            ) from None

    def __repr__(self) -> str:  # the secret and the refresh token never reach a log or trace
        public = public_setting_names(type(self))
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name in public)
        return f"{type(self).__name__}({shown})"


@configspec
class SagePipelineConfiguration(SageAccountingConfiguration):
    """What ``sage-pipeline`` reads besides the source's settings, from the same section."""

    authorize_url: str = "https://www.sageone.com/oauth2/auth/central?filter=apiv3.1"
    """Sage's consent page (``sage-pipeline auth``); it already carries ``filter=apiv3.1``."""
    redirect_uri: str = "http://localhost:8976/callback"
    """The loopback address registered with the Sage app, where ``auth`` receives Sage's answer."""
    scope: str = "full_access"
    """The OAuth scope ``auth`` asks for."""
    hard_delete: bool = False
    """Remove rows Sage deleted from the warehouse instead of marking them."""
    strict: bool = False
    """A business × resource Sage refused (403) or does not offer (404) fails the run (exit 4)."""


def resolve(
    spec: type[TConfig], explicit: Mapping[str, Any] | None = None, sections: tuple[str, ...] = SECTIONS
) -> TConfig:
    """``spec`` resolved the dlt way, ``explicit`` values (arguments, flags) beating every provider.

    An unknown name in ``explicit`` is refused the way Python refuses an unknown keyword argument.
    ``sections=()`` uses the sections dlt has injected (inside the ``@dlt.source`` call, which adds
    the pipeline's name to the lookup)."""
    known = setting_names(spec)
    unknown = sorted(set(explicit or {}) - known)
    if unknown:
        raise TypeError(f"{SOURCE_NAME}() got unexpected keyword argument(s) {', '.join(unknown)}")
    return resolve_configuration(spec(), sections=sections, explicit_value=dict(explicit or {}))


def setting_names(spec: type[BaseConfiguration]) -> frozenset[str]:
    """The names ``spec`` reads (its resolvable fields)."""
    return frozenset(spec.get_resolvable_fields())


def public_setting_names(spec: type[BaseConfiguration]) -> frozenset[str]:
    """The names whose values may be quoted in a message: every one but the secrets."""
    return frozenset(name for name, hint in spec.get_resolvable_fields().items() if not is_secret_hint(hint))
