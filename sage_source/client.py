"""HTTP to Sage: retries, limits, paging, and errors a person can act on.

* Every request goes through a :class:`~sage_source.budget.RequestBudget` (per-minute budget,
  concurrency: this process's, or the app's shared by every worker) and ``SageAuth`` (fresh
  bearer token, one refresh on 401), and carries ``X-Business`` when it concerns a business.
* 429: wait what ``Retry-After`` says (seconds or an HTTP date), and tell the budget (a shared one
  pauses every worker of the app); without it, and for 5xx and
  transport errors (refused, reset, truncated, timed out), exponential backoff with full
  jitter, bounded by ``max_retries``. A wait longer than ``max_wait`` (a daily quota) fails the
  run rather than sleeping for hours: the watermarks then stay where they were.
* Paging follows ``$next``, joined to the API base so ``/v3.1`` is kept, and refuses a link to
  another origin (the bearer token must never leave for another host). It stops on a null
  ``$next`` and refuses a page it has already seen. A large ``attributes=all`` page that keeps
  failing with 5xx is fetched again in halves from the same offset.
* Sage's request id is logged when a response carries one. Tokens never appear in logs or errors.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from sage_source.budget import MAX_WAIT_SECONDS, RequestBudget
from sage_source.config import SageAccountingConfiguration
from sage_source.errors import (
    ReauthorizationError,
    SageApiError,
    SageDataError,
    UnsafeNextLinkError,
)
from sage_source.pages import Page, PageOrder, PageReader, next_link
from sage_source.readahead import ahead

log = logging.getLogger("sage_source")
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid")
_DEGRADABLE = {500, 502, 504}


class _RetryableError(Exception):
    """A retryable outcome: a 429/5xx response, or a transport error."""

    def __init__(self, response: httpx.Response | None, error: Exception | None = None) -> None:
        super().__init__(f"{response.status_code if response is not None else type(error).__name__}")
        self.response = response
        self.error = error


@dataclass(frozen=True)
class RawPage:
    """A page's body as Sage sent it, and the server's time (``Date`` header)."""

    body: bytes
    server_time: float | None


@dataclass(frozen=True)
class Fetched:
    """A parsed page and the server's time when it answered."""

    page: Page
    server_time: float | None


class SageClient:
    """Requests to Sage's API as the settings say (``api_base_url``, ``items_per_page``,
    ``request_timeout``, ``max_retries``, ``retry_backoff_seconds``: checked when resolved)."""

    # Not settings: how the client behaves at the edges (class attributes, so a test can narrow them).
    backoff_cap = 60.0  # the longest backoff between retries
    max_wait = MAX_WAIT_SECONDS  # a Retry-After longer than this fails the run instead
    min_page_size = 10  # failing pages are halved down to this size, no further

    def __init__(
        self,
        settings: SageAccountingConfiguration,
        auth: httpx.Auth,
        limiter: RequestBudget,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.base = httpx.URL(settings.api_base_url.rstrip("/"))
        self.limiter = limiter
        self.http = httpx.Client(
            auth=auth,
            timeout=settings.request_timeout,
            headers={"Accept": "application/json", "User-Agent": "sage-accounting-elt (dlt source)"},
            transport=transport,
        )
        self._sent: Counter[tuple[str | None, str]] = Counter()  # (business, endpoint) -> requests
        self._sent_lock = threading.Lock()
        # Page sizes that worked where larger ones kept failing, per endpoint: later listings of
        # it in this run (the next business, the re-read of changed rows) start there.
        self._page_sizes: dict[str, int] = {}

    def close(self) -> None:
        self.http.close()

    # -- URLs ---------------------------------------------------------------------------------

    def url(self, path: str) -> httpx.URL:
        return httpx.URL(f"{self.base}/{path.lstrip('/')}")

    def next_url(self, link: str) -> httpx.URL:
        """Sage's ``$next`` is relative to the API base (no ``/v3.1``); never leave its origin."""
        if link.startswith(("http://", "https://")):
            url = httpx.URL(link)
        else:
            url = httpx.URL(f"{self.base}/{link.lstrip('/')}")
        if (url.scheme, url.host, url.port) != (self.base.scheme, self.base.host, self.base.port):
            raise UnsafeNextLinkError(
                f"Sage's $next points at {url.scheme}://{url.host}, not {self.base.host}; refusing it"
            )
        return url

    def sent(self, business_id: str | None, endpoint: str) -> int:
        """Requests sent so far for one business's endpoint (retries included)."""
        with self._sent_lock:
            return self._sent[(business_id, endpoint)]

    def _count(self, business_id: str | None, url: httpx.URL) -> None:
        endpoint = url.path[len(self.base.path) :].strip("/").split("/", 1)[0]
        with self._sent_lock:
            self._sent[(business_id, endpoint)] += 1

    # -- requests -----------------------------------------------------------------------------

    def get(
        self, url: httpx.URL | str, params: Mapping[str, Any] | None = None, business_id: str | None = None
    ) -> httpx.Response:
        """GET with limits and retries; a non-retryable or exhausted error raises ``SageApiError``."""
        target = url if isinstance(url, httpx.URL) else self.url(url)
        headers = {"X-Business": business_id} if business_id else {}
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_RetryableError),
            stop=tenacity.stop_after_attempt(self.settings.max_retries + 1),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._count(business_id, target)
                    response = self._send(target, params, headers)
        except _RetryableError as failed:
            raise self._exhausted(failed, target) from None
        if response.status_code == 401 and b"No active subscription" not in response.content:
            # SageAuth already refreshed once and re-sent: Sage refuses even a new token.
            raise ReauthorizationError(
                f"GET {target.path} was refused with a freshly refreshed token: {_describe(response)}; "
                "access may have been withdrawn from this user",
                self.settings.connection_name,
            )
        if response.status_code >= 400:
            raise SageApiError(f"GET {target.path}: {_describe(response)}", response.status_code)
        return response

    def _send(
        self, url: httpx.URL, params: Mapping[str, Any] | None, headers: dict[str, str]
    ) -> httpx.Response:
        with self.limiter.slot():
            try:
                response = self.http.get(url, params=params, headers=headers)
            except httpx.TransportError as error:
                raise _RetryableError(None, error) from None
            retry_after = _retry_after(response) if response.status_code == 429 else None
            if retry_after is not None:  # told while the slot is held, so none of ours slips in first
                self.limiter.pause(retry_after)
        request_id = next((response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), None)
        if log.isEnabledFor(logging.DEBUG):  # path only: the query may name a business, never a token
            suffix = f" (request id {request_id})" if request_id else ""
            log.debug("GET %s -> %s%s", url.path, response.status_code, suffix)
        if response.status_code == 429 or response.status_code >= 500:
            raise _RetryableError(response)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome else None
        response = failed.response if isinstance(failed, _RetryableError) else None
        if response is not None and response.status_code == 429:
            retry_after = _retry_after(response)
            if retry_after is not None:
                if retry_after > self.max_wait:
                    raise SageApiError(
                        f"Sage's request limit is used up; it asks to wait {retry_after:.0f}s, longer than "
                        f"max_wait ({self.max_wait:.0f}s). Run again later; nothing was lost.",
                        429,
                    )
                return retry_after
        ceiling = min(self.backoff_cap, self.settings.retry_backoff_seconds * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)  # full jitter

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        failed = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.info("retrying after %s (attempt %d, waiting %.1fs)", failed, state.attempt_number, wait)

    def _exhausted(self, failed: _RetryableError, url: httpx.URL) -> SageApiError:
        if failed.response is not None:
            return SageApiError(
                f"GET {url.path}: {_describe(failed.response)} after {self.settings.max_retries} retries",
                failed.response.status_code,
            )
        origin = f"{url.scheme}://{url.netloc.decode()}"
        return SageApiError(
            f"GET {url.path}: no answer from {origin} ({type(failed.error).__name__} after "
            f"{self.settings.max_retries} retries). Check api_base_url and the network, then run again"
        )

    # -- paging -------------------------------------------------------------------------------

    def raw_pages(
        self, path: str, params: Mapping[str, Any], business_id: str | None, read_ahead: int = 8
    ) -> Iterator[RawPage]:
        """Every page of a list as bytes, following ``$next``; failing large pages come in halves.

        Bodies are not parsed here (the caller parses several at once, which is cheaper):
        ``$next`` is read from the envelope. Pages are fetched by a thread up to ``read_ahead``
        pages ahead of the caller, in order, so Sage serves the next pages while we parse these.
        """
        walk = self._walk(path, params, business_id)
        return walk if read_ahead < 1 else ahead(walk, read_ahead, name=f"sage-{path}")

    def _walk(self, path: str, params: Mapping[str, Any], business_id: str | None) -> Iterator[RawPage]:
        size = int(params.get("items_per_page", self.settings.items_per_page))
        size = min(size, self._page_sizes.get(path, size))
        url: httpx.URL = self.url(path)
        query: Mapping[str, Any] | None = {**params, "items_per_page": size}
        seen: set[str] = set()
        offset = 0  # items before the next page (every page but the last is full)
        while True:
            try:
                response = self.get(url, query, business_id)
            except SageApiError as error:
                if error.status not in _DEGRADABLE or size <= self.min_page_size:
                    raise
                failing, size = size, max(self.min_page_size, size // 2)
                self._page_sizes[path] = size
                # Restart at the smaller pages' boundary at or before the first unread item: when
                # the new size does not divide the offset, page offset // size + 1 starts before
                # it (a few rows read twice, kept once by the resource), and offset must be that
                # page's start, or a later halving computes its page from an offset past what was
                # read and skips rows.
                offset -= offset % size
                log.warning("%s: pages of %d keep failing; trying pages of %d", path, failing, size)
                url, query = self.url(path), {**params, "items_per_page": size, "page": offset // size + 1}
                continue
            offset += size
            body = response.content
            link = next_link(body, path)
            yield RawPage(body, server_time(response))
            if link is None:
                return
            url, query = self.next_url(link), None
            if str(url) in seen:
                raise SageDataError(f"{path}: $next repeats {url.path}?{url.query.decode()}; stopping")
            seen.add(str(url))

    def pages(
        self, path: str, params: Mapping[str, Any], business_id: str | None, reader: PageReader
    ) -> Iterator[Fetched]:
        """Every page of a list, parsed one by one (for the small lists: delete feeds, ids)."""
        order = PageOrder(path)
        for raw in self.raw_pages(path, params, business_id, read_ahead=0):
            page = reader.read(raw.body)
            order.check(page)
            yield Fetched(page, raw.server_time)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait per ``Retry-After`` (integer seconds or an HTTP date); ``None`` if unusable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        seconds = parsed.timestamp() - time.time()
    return seconds if seconds > 0 else None  # 0 or negative: fall back to backoff


def server_time(response: httpx.Response) -> float | None:
    value = response.headers.get("date")
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError):
        return None


def _describe(response: httpx.Response) -> str:
    """Sage's own error message (``$dataCode: $message``), else the status and a snippet."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} {response.text[:200].strip()}"
    # Sage's documented shape is a list of errors; a single error object is described the same way.
    errors = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    if errors and all(isinstance(e, dict) and ("$dataCode" in e or "$message" in e) for e in errors):
        parts = [
            f"{e.get('$dataCode')}: {e.get('$message')}" + (f" ({e['$source']})" if e.get("$source") else "")
            for e in errors
        ]
        return f"HTTP {response.status_code} " + "; ".join(parts)
    return f"HTTP {response.status_code} {str(body)[:200]}"
