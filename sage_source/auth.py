"""Access tokens for every request, refreshed safely.

* Proactive: a token with less than ``skew`` seconds left (60, or a quarter of its lifetime if
  that is less) is refreshed before it is used. Each refresh is a moment in which a killed
  process loses the chain (Sage has rotated the token; the answer never reached the disk), so a
  short-lived token is not refreshed on every request.
* Check-after-lock: a refresh takes the store's lock and re-reads the store first; if another
  process (or thread) already refreshed, its token is used and no second refresh is sent (a
  second refresh with the same refresh token would be a reuse, which Sage punishes by revoking
  the whole chain).
* Reserve-then-send: before a refresh is sent, room for its answer is reserved beside the store
  (:meth:`TokenStore.reserve`); a full or read-only disk fails there, with nothing sent.
* Persist-then-use: the new token set is saved (atomically, into the reserved space) before the
  new access token leaves this module.
* Recover-on-start: a save interrupted between its fsync and its rename is finished under the
  lock before the store is read (:meth:`TokenStore.recover`).
* Refused-is-recorded: a refresh Sage refuses (``invalid_grant``: revoked, spent, expired) is
  recorded in the store (:meth:`TokenStore.mark_needs_reconsent`) before the error is raised; the
  shared store then stops that connection alone, without sending its dead token again.
* No blind retry: a refresh whose answer is lost (timeout, dropped connection) may have rotated
  the token at Sage; it is not re-sent. Only a refresh that provably never left the machine
  (connection refused) is retried.
* On 401 a request gets exactly one refresh and one re-send (``SageAuth``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from sage_source.errors import (
    AmbiguousRefreshError,
    ReauthorizationError,
    SageSourceError,
    SageUnreachableError,
    TokenResponseError,
)
from sage_source.token_store import TokenStore
from sage_source.tokens import TokenSet

SKEW_SECONDS = 60.0
_CONNECT_RETRIES = 3


class TokenManager:
    def __init__(
        self,
        store: TokenStore,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        http: httpx.Client,
        seed_refresh_token: str | None = None,
        skew: float = SKEW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http
        self._seed = seed_refresh_token
        self._skew = skew
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: TokenSet | None = None
        self.refreshes = 0  # refresh POSTs this process sent (tests and logs)

    def _refused(self, reason: str) -> ReauthorizationError:
        """Only a new consent helps; the error names the connection to consent again."""
        return ReauthorizationError(reason, self.store.connection_name)

    def access_token(self) -> str:
        """A valid access token, refreshing first if the current one is about to expire."""
        tokens = self._tokens
        if tokens is not None and tokens.access_token and self._fresh(tokens, self._clock()):
            return tokens.access_token
        return self.refresh(stale=tokens.access_token if tokens else None)

    def refresh(self, stale: str | None) -> str:
        """Get a fresh access token; ``stale`` is the one the caller found wanting (or None)."""
        with self._lock, self.store.lock():
            self.store.recover()
            current = self.store.load() or self._seeded()
            now = self._clock()
            if current.access_token and current.access_token != stale and self._fresh(current, now):
                self._tokens = current  # another process refreshed while we waited for the lock
                return current.access_token
            try:
                if current.refresh_expired(now):
                    raise self._refused("the refresh token expired after 31 days without use")
                with self.store.reserve() as pending:  # a full disk fails here, before Sage rotates
                    renewed = self._post_refresh(current.refresh_token)
                    pending.commit(renewed)  # persist before anyone can use it
            except ReauthorizationError as refused:
                self.store.mark_needs_reconsent(refused.reason)  # still under the lock
                raise
            self._tokens = renewed
            assert renewed.access_token is not None
            return renewed.access_token

    def _fresh(self, tokens: TokenSet, now: float) -> bool:
        """Valid for longer than the skew: 60 s, or a quarter of the token's lifetime if shorter."""
        lifetime = tokens.access_expires_at - tokens.saved_at
        return tokens.access_valid_for(now) > min(self._skew, max(lifetime, 0.0) / 4)

    def _seeded(self) -> TokenSet:
        """An empty store takes the configured refresh token once; after that the store owns it."""
        if not self._seed:
            raise self._refused(f"no tokens in {self.store.location} and no refresh_token configured")
        return TokenSet(refresh_token=self._seed)

    def _post_refresh(self, refresh_token: str) -> TokenSet:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        response = self._send(form)
        self.refreshes += 1
        if response.status_code == 200:
            return TokenSet.from_response(_token_body(response), now=self._clock())
        error = _oauth_error(response)
        if error == "invalid_client":
            raise SageSourceError("Sage rejected the client id or secret; check client_id and client_secret")
        if response.status_code in (400, 401):
            raise self._refused(f"Sage refused the refresh token: {error or response.status_code}")
        raise AmbiguousRefreshError(
            f"Sage answered the token refresh with {response.status_code}; the refresh may or may not have "
            "rotated the token, so it is not retried. Run again later; if that fails with invalid_grant, "
            "run `sage-pipeline auth`."
        )

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """The authorization-code grant (``sage-pipeline auth``): store and return the first tokens."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        with self._lock, self.store.lock():
            self.store.recover()  # leftovers of an interrupted save are of no use after a new consent
            # A full disk fails here, before the code is spent.
            with self.store.reserve("nothing was sent to Sage; run `sage-pipeline auth` again") as pending:
                response = self._send(form)
                if response.status_code != 200:
                    error = _oauth_error(response) or f"HTTP {response.status_code}"
                    # The code expired, was spent, or belongs to another consent: only a new one helps.
                    raise self._refused(f"Sage refused the authorization code: {error}")
                tokens = TokenSet.from_response(_token_body(response), now=self._clock())
                pending.commit(tokens)
            self._tokens = tokens
        return tokens

    def _send(self, form: dict[str, str]) -> httpx.Response:
        """POST to the token endpoint; retried only when the request never left the machine."""
        for attempt in range(_CONNECT_RETRIES):
            try:
                return self._http.post(self.token_url, data=form)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == _CONNECT_RETRIES - 1:
                    raise SageUnreachableError(
                        f"cannot reach Sage's token endpoint {self.token_url}: {exc}"
                    ) from None
                time.sleep(2**attempt)
            except httpx.HTTPError as exc:
                raise AmbiguousRefreshError(
                    f"the token request to {self.token_url} failed after it was sent ({type(exc).__name__}); "
                    "Sage may have rotated the refresh token, so it is not retried. Run again later; if that "
                    "fails with invalid_grant, run `sage-pipeline auth`."
                ) from None
        raise AssertionError("unreachable")


def _token_body(response: httpx.Response) -> dict[str, Any]:
    """A 200's JSON object; anything else is Sage answering what cannot be used (exit 4, not a traceback)."""
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("content-type") or "no content type"
        raise TokenResponseError(f"Sage's token response is not JSON ({kind}); it cannot be used") from None
    if not isinstance(body, dict):
        raise TokenResponseError(f"Sage's token response is a JSON {type(body).__name__}, not an object")
    return body


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


class SageAuth(httpx.Auth):
    """Bearer token on every request; a 401 gets one refresh and one re-send."""

    requires_response_body = True

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not _subscription_problem(response):
            request.headers["Authorization"] = f"Bearer {self.tokens.refresh(stale=token)}"
            yield request


def _subscription_problem(response: httpx.Response) -> bool:
    """A 401 about the business's subscription, which a new token does not fix."""
    return b"No active subscription" in response.content
