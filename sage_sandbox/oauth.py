"""Sage's OAuth 2.0 authorization server, as the sandbox plays it.

* Authorization codes live ``code_ttl`` (60 s) and work once; reusing one revokes what it issued
  (RFC 6749 §4.1.2).
* Access tokens live ``access_token_ttl`` (300 s); refresh tokens ``refresh_token_ttl`` (31 days).
* Every refresh rotates: the presented refresh token dies at once and a new pair is issued.
* Presenting a refresh token that was already used is treated as theft: ``invalid_grant`` and the
  whole chain (every token descended from the same authorization) is revoked, as a careful
  authorization server does (OAuth 2.0 Security BCP, refresh token rotation).

Time comes from the sandbox clock, so expiry is tested by moving the clock, not by sleeping.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sage_sandbox.clock import SandboxClock

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


class OAuthError(Exception):
    """An RFC 6749 error response: ``{"error": code}`` with an HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str

    def accepts_redirect(self, uri: str) -> bool:
        """The demo client accepts any loopback redirect URI (an installed app's listener)."""
        parsed = urlparse(uri)
        return parsed.scheme == "http" and (parsed.hostname or "") in LOOPBACK_HOSTS


@dataclass
class Chain:
    """Every token descended from one authorization."""

    id: int
    client_id: str
    user_id: str
    scope: str
    revoked: bool = False
    tokens: list[str] = field(default_factory=list)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    expires: float
    used: bool = False
    chain: Chain | None = None


@dataclass
class _Token:
    chain: Chain
    expires: float
    used: bool = False  # refresh tokens only


@dataclass(frozen=True)
class AccessGrant:
    """Who an access token speaks for."""

    user_id: str
    client_id: str
    scope: str


@dataclass
class TokenStats:
    issued: int = 0
    refreshed: int = 0
    reuse_revocations: int = 0
    rejected: int = 0


class AuthorizationServer:
    def __init__(
        self,
        clock: SandboxClock,
        clients: list[Client],
        *,
        code_ttl: int = 60,
        access_token_ttl: int = 300,
        refresh_token_ttl: int = 2_678_400,
    ) -> None:
        self._clock = clock
        self._clients = {c.client_id: c for c in clients}
        self.code_ttl = code_ttl
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._chains = 0
        self._lock = threading.Lock()
        self.stats = TokenStats()

    # -- authorize ----------------------------------------------------------------------------

    def authorize(self, client_id: str, redirect_uri: str, user_id: str, scope: str) -> str:
        """Consent is automatic in the sandbox: issue a code for the demo user."""
        client = self._clients.get(client_id)
        if client is None:
            raise OAuthError(400, "invalid_client", "unknown client_id")
        if not client.accepts_redirect(redirect_uri):
            raise OAuthError(400, "invalid_request", "redirect_uri is not registered for this client")
        code = secrets.token_hex(20)
        with self._lock:
            self._codes[code] = _Code(
                client_id, redirect_uri, user_id, scope, self._clock.timestamp() + self.code_ttl
            )
        return code

    # -- token endpoint -----------------------------------------------------------------------

    def exchange_code(
        self, client_id: str, client_secret: str, code: str, redirect_uri: str
    ) -> dict[str, object]:
        self._check_client(client_id, client_secret)
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != client_id:
                raise self._reject("the authorization code is invalid")
            if grant.used:
                if grant.chain is not None:
                    self._revoke(grant.chain)
                raise self._reject("the authorization code was already used")
            if self._clock.timestamp() > grant.expires:
                raise self._reject("the authorization code expired")
            if grant.redirect_uri != redirect_uri:
                raise self._reject("redirect_uri does not match the one used to authorize")
            grant.used = True
            self._chains += 1
            chain = Chain(self._chains, client_id, grant.user_id, grant.scope)
            grant.chain = chain
            self.stats.issued += 1
            return self._issue(chain)

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> dict[str, object]:
        self._check_client(client_id, client_secret)
        with self._lock:
            token = self._refresh.get(refresh_token)
            if token is None or token.chain.client_id != client_id:
                raise self._reject("the refresh token is invalid")
            if token.chain.revoked:
                raise self._reject("the refresh token was revoked")
            if token.used:
                self._revoke(token.chain)
                self.stats.reuse_revocations += 1
                raise self._reject("the refresh token was already used; every token of this grant is revoked")
            if self._clock.timestamp() > token.expires:
                raise self._reject("the refresh token expired")
            token.used = True
            self.stats.refreshed += 1
            return self._issue(token.chain)

    def _issue(self, chain: Chain) -> dict[str, object]:
        now = self._clock.timestamp()
        access, refresh = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        self._access[access] = _Token(chain, now + self.access_token_ttl)
        self._refresh[refresh] = _Token(chain, now + self.refresh_token_ttl)
        chain.tokens += [access, refresh]
        return {
            "access_token": access,
            "scope": chain.scope,
            "token_type": "bearer",
            "expires_in": self.access_token_ttl,
            "refresh_token": refresh,
            "refresh_token_expires_in": self.refresh_token_ttl,
            "requested_by_id": chain.user_id,
        }

    def _revoke(self, chain: Chain) -> None:
        chain.revoked = True
        for key in chain.tokens:
            self._access.pop(key, None)
            refresh = self._refresh.get(key)
            if refresh is not None:
                refresh.used = True

    def _check_client(self, client_id: str, client_secret: str) -> None:
        client = self._clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            self.stats.rejected += 1
            raise OAuthError(401, "invalid_client", "client authentication failed")

    def _reject(self, description: str) -> OAuthError:
        self.stats.rejected += 1
        return OAuthError(400, "invalid_grant", description)

    # -- resource server side -----------------------------------------------------------------

    def check_access(self, token: str) -> AccessGrant | None:
        """The grant behind a bearer token, or ``None`` if unknown, expired or revoked."""
        with self._lock:
            entry = self._access.get(token)
            if entry is None or entry.chain.revoked or self._clock.timestamp() > entry.expires:
                return None
            return AccessGrant(entry.chain.user_id, entry.chain.client_id, entry.chain.scope)

    def revoke_all(self) -> int:
        """Revoke every chain (a test's "user disconnected the app"); return how many."""
        with self._lock:
            chains = {t.chain.id: t.chain for t in self._refresh.values() if not t.chain.revoked}
            for chain in chains.values():
                self._revoke(chain)
            return len(chains)
