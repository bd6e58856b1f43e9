"""Keeping under Sage's request limits instead of bouncing off them.

Sage documents its limit as "N calls in any 60 second period", so the budget is a sliding
60-second window, the same rule the sandbox enforces. A request counts against the window from
the moment it *finishes*: Sage dates a request when it arrives, which is after we send it, so
dating our own record at the send would let a request through a few milliseconds before Sage's
window has room (a 429). Dated at the finish, our window is always at least as full as Sage's.
Requests in flight count too. ``concurrency`` caps requests in flight. Both are shared by every
thread of the source (businesses are extracted in parallel), in this process only: workers that
share one app across processes or hosts use :mod:`sage_source.budget_postgres` instead
(:func:`sage_source.budget.open_request_budget` chooses).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

WINDOW_SECONDS = 60.0


def check_limits(per_minute: int | None, concurrency: int) -> None:
    """The one check of the limits (the settings call it too): a budget under 1 would never let a
    request through, and no slot would deadlock every thread."""
    if per_minute is not None and per_minute < 1:
        raise ValueError(
            f"requests_per_minute must be at least 1, got {per_minute} "
            "(no budget: 0 in the settings, None in Python)"
        )
    if concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {concurrency}")


class RequestLimiter:
    def __init__(
        self,
        per_minute: int | None,
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
        window: float = WINDOW_SECONDS,
    ) -> None:
        check_limits(per_minute, concurrency)
        self.per_minute = per_minute  # requests allowed in any ``window`` seconds
        self.window = window
        self._finished: deque[float] = deque()  # finish times in the window, oldest first
        self._in_flight = 0
        self._clock = clock
        self._changed = threading.Condition()
        self._slots = threading.BoundedSemaphore(concurrency)
        self.waited = 0.0  # seconds spent waiting for the budget (for logs and benchmarks)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request's place: a free concurrency slot and room in the minute's budget."""
        with self._slots:
            self._take_budget()
            try:
                yield
            finally:
                self._give_back()

    def pause(self, seconds: float) -> None:
        """Nothing: the thread that met the 429 waits its ``Retry-After`` itself (the client's retry)
        and the others go on, as this process-local budget always did; the shared budget pauses
        every worker of the app."""

    def close(self) -> None:
        """Nothing to release."""

    def _take_budget(self) -> None:
        if self.per_minute is None:
            return
        with self._changed:
            while True:
                now = self._clock()
                while self._finished and self._finished[0] <= now - self.window:
                    self._finished.popleft()
                if len(self._finished) + self._in_flight < self.per_minute:
                    self._in_flight += 1
                    return
                # Room comes when the oldest finished request leaves the window, or sooner if a
                # request in flight fails to finish (it is then dated now, so no sooner really).
                wait = self._finished[0] + self.window - now if self._finished else self.window
                self.waited += wait
                self._changed.wait(wait)

    def _give_back(self) -> None:
        if self.per_minute is None:
            return
        with self._changed:
            self._in_flight -= 1
            self._finished.append(self._clock())
            self._changed.notify_all()
