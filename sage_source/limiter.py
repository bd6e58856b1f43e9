"""Keeping under Sage's request limits instead of bouncing off them.

Sage documents its limit as "N calls in any 60 second period", so the budget is a sliding
60-second window, the same rule the sandbox enforces: a request waits until fewer than
``per_minute`` requests started in the last minute. ``concurrency`` caps requests in flight.
Both are shared by every thread of the source (businesses are extracted in parallel).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RequestLimiter:
    def __init__(
        self,
        per_minute: int | None,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute is not None and per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1 (or unset for no limit)")
        if concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.per_minute = per_minute
        self._starts: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._window = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(concurrency)
        self.waited = 0.0  # seconds spent waiting for the budget (for logs and benchmarks)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request's place: a free concurrency slot and room in the minute's budget."""
        with self._in_flight:
            self._wait_for_budget()
            yield

    def _wait_for_budget(self) -> None:
        if self.per_minute is None:
            return
        while True:
            with self._window:
                now = self._clock()
                while self._starts and self._starts[0] <= now - 60:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + 60 - now
            self.waited += wait
            self._sleep(wait)
