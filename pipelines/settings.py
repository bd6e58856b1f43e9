"""The CLI's own settings, resolved the dlt way from ``[sources.sage_accounting]``.

``sage-pipeline run`` passes its flags to the source, which resolves everything else itself. The
commands that talk to Sage without running the source (``auth``, ``businesses``) and the
post-load step (``hard_delete``) read the same section with :func:`dlt.common.configuration.with_config`,
so one ``.dlt/secrets.toml`` or one set of ``SOURCES__SAGE_ACCOUNTING__*`` variables serves all.
"""

from __future__ import annotations

from dataclasses import dataclass

import dlt
from dlt.common.configuration import with_config
from dlt.common.typing import TSecretStrValue

from sage_source.connection import ConnectionSettings
from sage_source.settings import (
    DEFAULT_API_BASE_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_TOKEN_STORE,
    DEFAULT_TOKEN_URL,
)

SECTION = ("sources", "sage_accounting")
DEFAULT_REDIRECT_URI = "http://localhost:8976/callback"


@dataclass(frozen=True)
class AuthSettings:
    connection: ConnectionSettings
    authorize_url: str
    redirect_uri: str
    scope: str

    def __repr__(self) -> str:
        return f"AuthSettings(authorize_url={self.authorize_url!r}, redirect_uri={self.redirect_uri!r})"


@with_config(sections=SECTION)
def auth_settings(
    client_id: str = dlt.config.value,
    client_secret: TSecretStrValue = dlt.secrets.value,
    refresh_token: TSecretStrValue | None = None,
    token_store: str = DEFAULT_TOKEN_STORE,
    api_base_url: str = DEFAULT_API_BASE_URL,
    token_url: str = DEFAULT_TOKEN_URL,
    authorize_url: str = DEFAULT_AUTHORIZE_URL,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    scope: str = "full_access",
    request_timeout: float = 60.0,
    max_retries: int = 8,
    retry_backoff_seconds: float = 1.0,
) -> AuthSettings:
    """What ``auth`` and ``businesses`` need: the app, the URLs and the token store."""
    return AuthSettings(
        connection=ConnectionSettings(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            api_base_url=api_base_url,
            token_url=token_url,
            token_store=token_store,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_backoff_seconds=retry_backoff_seconds,
        ),
        authorize_url=authorize_url,
        redirect_uri=redirect_uri,
        scope=scope,
    )


@with_config(sections=SECTION)
def hard_delete_setting(hard_delete: bool = False) -> bool:
    """Whether rows Sage deleted are removed from the warehouse rather than marked."""
    return hard_delete


@with_config(sections=SECTION)
def strict_setting(strict: bool = False) -> bool:
    """Whether a business × resource Sage refused (403) or does not offer (404) fails the run."""
    return strict
