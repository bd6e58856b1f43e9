"""Wiring: the token store, token manager, limiter and HTTP client for one set of settings.

The source, ``sage-pipeline auth`` and ``sage-pipeline businesses`` all need the same parts;
this module builds them once from plain values, so the dlt configuration (``__init__.py``) and
the CLI stay thin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from sage_source.auth import SageAuth, TokenManager
from sage_source.client import ClientSettings, SageClient
from sage_source.errors import SageSourceError
from sage_source.limiter import RequestLimiter
from sage_source.pages import PageReader
from sage_source.tokens import FileTokenStore


@dataclass(frozen=True)
class ConnectionSettings:
    client_id: str
    client_secret: str
    api_base_url: str
    token_url: str
    token_store: str
    refresh_token: str | None = None
    items_per_page: int = 200
    requests_per_minute: int | None = 200  # 0 or None: no budget (0 is what TOML and the environment can say)
    max_concurrency: int = 4
    request_timeout: float = 60.0
    max_retries: int = 8
    retry_backoff_seconds: float = 1.0

    def __repr__(self) -> str:  # the secret and the refresh token never reach a log or trace
        return f"ConnectionSettings(api_base_url={self.api_base_url!r}, token_store={self.token_store!r})"

    def check(self) -> None:
        """Refuse settings that cannot work, with the name of the setting to fix."""
        if not self.client_id or not self.client_secret:
            raise SageSourceError(
                "client_id and client_secret are not set: put them under [sources.sage_accounting] in "
                ".dlt/secrets.toml or set SOURCES__SAGE_ACCOUNTING__CLIENT_ID / __CLIENT_SECRET"
            )
        for name in ("api_base_url", "token_url"):
            url = httpx.URL(getattr(self, name))
            if url.scheme not in ("http", "https") or not url.host:
                raise SageSourceError(f"{name} must be an http(s) URL, got {getattr(self, name)!r}")
        if not 1 <= self.items_per_page <= 200:
            raise SageSourceError(
                f"items_per_page must be between 1 and 200 (Sage's maximum), got {self.items_per_page}"
            )
        if self.requests_per_minute is not None and self.requests_per_minute < 0:
            raise SageSourceError(
                f"requests_per_minute must be at least 1, or 0 for no budget, got {self.requests_per_minute}"
            )
        if self.max_concurrency < 1:
            raise SageSourceError("max_concurrency must be at least 1")


class SageConnection:
    """Everything a run needs to talk to Sage; ``close()`` when done."""

    def __init__(self, settings: ConnectionSettings, transport: httpx.BaseTransport | None = None) -> None:
        settings.check()
        self.settings = settings
        self.store = FileTokenStore(settings.token_store)
        self._token_http = httpx.Client(timeout=settings.request_timeout, transport=transport)
        self.tokens = TokenManager(
            self.store,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            http=self._token_http,
            seed_refresh_token=settings.refresh_token,
        )
        self.limiter = RequestLimiter(settings.requests_per_minute or None, settings.max_concurrency)
        self.client = SageClient(
            ClientSettings(
                api_base_url=settings.api_base_url,
                items_per_page=settings.items_per_page,
                timeout=settings.request_timeout,
                max_retries=settings.max_retries,
                backoff_base=settings.retry_backoff_seconds,
            ),
            SageAuth(self.tokens),
            self.limiter,
            transport=transport,
        )

    def businesses(self) -> list[dict[str, Any]]:
        """Every business the user can reach (``GET /businesses``), lead business first as Sage lists them."""
        reader = PageReader("businesses")
        found: list[dict[str, Any]] = []
        for fetched in self.client.pages("businesses", {"attributes": "all"}, None, reader):
            found.extend(fetched.page.items.select(["id", "name", "displayed_as"]).to_pylist())
        return found

    def close(self) -> None:
        self.client.close()
        self._token_http.close()

    def __enter__(self) -> SageConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
