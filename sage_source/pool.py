"""The sockets of a connection: opened on demand, closed as soon as nothing uses them.

A source is built, then its resources run later (or never: a user may deselect them), one after
another or in parallel, and extraction may fail half-way. So sockets are not tied to the
source's lifetime but to its users: whoever talks to Sage holds a lease (the business list at
build time, each resource while its generator runs), and when the last lease ends the pool is
closed. The next lease opens a new one. The httpx clients stay valid throughout: they hold no
socket themselves, the transport does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


class ReopeningTransport(httpx.BaseTransport):
    """An ``httpx.HTTPTransport`` made on the first request after each ``close()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: httpx.HTTPTransport | None = None
        self._leases = 0

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._pool is None:
                self._pool = httpx.HTTPTransport()
            pool = self._pool
        return pool.handle_request(request)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @contextmanager
    def lease(self) -> Iterator[None]:
        """Keep the sockets while inside; the last lease to end closes them."""
        with self._lock:
            self._leases += 1
        try:
            yield
        finally:
            with self._lock:
                self._leases -= 1
                pool = self._pool if self._leases == 0 else None
                if pool is not None:
                    self._pool = None  # a lease taken from here on opens a new pool
            if pool is not None:
                pool.close()
