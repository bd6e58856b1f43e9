"""Wiring: the token store, token manager, request budget and HTTP client for one resolved configuration.

The source, ``sage-pipeline auth`` and ``sage-pipeline businesses`` all need the same parts;
this module builds them from :class:`~sage_source.config.SageAccountingConfiguration` (already
checked when dlt resolved it), so the source and the CLI stay thin.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import httpx

from sage_source.auth import SageAuth, TokenManager
from sage_source.budget import open_request_budget
from sage_source.client import SageClient
from sage_source.config import SageAccountingConfiguration
from sage_source.pages import PageReader
from sage_source.pool import ReopeningTransport
from sage_source.token_store import open_token_store


class SageConnection:
    """Everything a run needs to talk to Sage.

    Sockets are held only under :meth:`lease` (see :mod:`sage_source.pool`); ``close()`` (or
    leaving the ``with`` block) ends the connection for good."""

    def __init__(self, settings: SageAccountingConfiguration) -> None:
        self.settings = settings
        self.transport = ReopeningTransport()
        self.store = open_token_store(settings)
        self._token_http = httpx.Client(timeout=settings.request_timeout, transport=self.transport)
        self.tokens = TokenManager(
            self.store,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            http=self._token_http,
            seed_refresh_token=settings.refresh_token,
        )
        self.limiter = open_request_budget(settings)
        self.client = SageClient(settings, SageAuth(self.tokens), self.limiter, transport=self.transport)

    def lease(self) -> AbstractContextManager[None]:
        """Keep the sockets open while inside; the last lease to end closes them."""
        return self.transport.lease()

    def businesses(self) -> list[dict[str, Any]]:
        """Every business the user can reach (``GET /businesses``), lead business first as Sage lists them."""
        reader = PageReader("businesses")
        found: list[dict[str, Any]] = []
        with self.lease():
            for fetched in self.client.pages("businesses", {"attributes": "all"}, None, reader):
                found.extend(fetched.page.items.select(["id", "name", "displayed_as"]).to_pylist())
        return found

    def close(self) -> None:
        self.client.close()
        self._token_http.close()
        self.limiter.close()

    def __enter__(self) -> SageConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
