"""What the token manager needs of a token store, and which store the settings choose.

A token store keeps one connection's refresh-token chain (one Sage user's consent). There are two:

* :class:`~sage_source.tokens.FileTokenStore`, the default: a 0600 file under a file lock, for one
  machine (``token_store``);
* :class:`~sage_source.token_store_postgres.PostgresTokenStore`: one row per connection in a
  PostgreSQL database under a row lock, for workers on many hosts (``token_store_credentials``,
  ``connection_name``).

:class:`~sage_source.auth.TokenManager` uses nothing but :class:`TokenStore`, so the refresh
protocol (lock, re-read, refresh only if still stale, save before use) is written once for both.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from sage_source.errors import SageSourceError
from sage_source.tokens import NOTHING_SENT, FileTokenStore, TokenSet

if TYPE_CHECKING:
    from sage_source.config import SageAccountingConfiguration


class PendingTokenSave(Protocol):
    """Room for the next token set, made before a refresh is sent; ``commit`` stores the set."""

    def commit(self, tokens: TokenSet) -> None: ...

    def __enter__(self) -> PendingTokenSave: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class TokenStore(Protocol):
    """One connection's token chain. ``reserve``, ``recover`` and ``mark_needs_reconsent`` are
    called under ``lock``; ``load`` and ``save`` work with or without it."""

    @property
    def connection_name(self) -> str:
        """Whose chain: the connection's name (``sage_source.connections``)."""
        ...

    @property
    def location(self) -> str:
        """Where the chain lives, for messages: never a password or a token."""
        ...

    def lock(self, timeout: float = 120) -> AbstractContextManager[None]:
        """Exclude every other process, on this host or (for a shared store) any other."""
        ...

    def load(self) -> TokenSet | None:
        """The stored set, None when there is none yet."""
        ...

    def reserve(self, unsent: str = NOTHING_SENT) -> PendingTokenSave:
        """Room for the next set, or an error ending with ``unsent`` (nothing was sent yet)."""
        ...

    def save(self, tokens: TokenSet) -> None: ...

    def recover(self) -> TokenSet | None:
        """Finish a save a killed process left half-done; the set recovered, if any."""
        ...

    def mark_needs_reconsent(self, reason: str) -> None:
        """Sage refused the stored chain: record that only a new consent helps (``reason`` holds no token)."""
        ...


def open_token_store(settings: SageAccountingConfiguration) -> TokenStore:
    """The PostgreSQL store when ``token_store_credentials`` is set, else the file ``token_store``."""
    if settings.token_store_credentials:
        try:
            from sage_source.token_store_postgres import PostgresTokenStore  # noqa: PLC0415 (the postgres extra)
        except ImportError as missing:
            raise SageSourceError(
                "token_store_credentials names a PostgreSQL database, which needs "
                f"{missing.name or 'psycopg2'}: pip install 'sage-accounting-elt[postgres]'"
            ) from None
        return PostgresTokenStore(settings.token_store_credentials, settings.connection_name)
    return FileTokenStore(settings.token_store, settings.connection_name)
