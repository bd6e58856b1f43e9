"""The sandbox's idea of "now": real time plus an offset that tests and benchmarks move forward.

Everything time-dependent (token expiry, authorization-code expiry, ``updated_at`` of new activity,
rate-limit windows) reads this clock, so a test can make five minutes pass without waiting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """UTC wall clock with whole-second resolution, as Sage's timestamps have.

    ``start`` pins the clock's reading at construction (deterministic books per seed);
    ``frozen`` stops real time from flowing, so only :meth:`advance` moves it.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime (UTC)")
        self._origin = (start or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self._frozen = frozen
        self._started = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def timestamp(self) -> float:
        """Seconds since the epoch, with sub-second precision (for rate limiting)."""
        with self._lock:
            elapsed = 0.0 if self._frozen else time.monotonic() - self._started
            return self._origin.timestamp() + elapsed + self._offset

    def now(self) -> datetime:
        """The current sandbox time, truncated to whole seconds."""
        return datetime.fromtimestamp(int(self.timestamp()), UTC)

    def now_ts(self) -> int:
        """The current sandbox time as whole epoch seconds."""
        return int(self.timestamp())

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward: tokens and watermarks assume monotonic time)."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds

    def today(self) -> datetime:
        """Midnight UTC of the current day."""
        now = self.now()
        return now.replace(hour=0, minute=0, second=0)

    @staticmethod
    def days(n: float) -> timedelta:
        return timedelta(days=n)
