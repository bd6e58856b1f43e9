"""Request limits, injected faults and request counters: the parts of Sage a client must survive.

Limits are counted per OAuth client (an app), as Sage's throttling is: a sliding 60-second window,
a per-UTC-day quota, and a cap on requests in flight. A refused request gets ``429`` with
``Retry-After`` (whole seconds until the window lets it through) and does not count against
the quota.

Faults are drawn from one seeded generator per sandbox, one draw per API request in arrival
order: the same seed and the same request sequence fail the same way.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter, deque
from dataclasses import dataclass

from sage_sandbox.clock import SandboxClock
from sage_sandbox.config import FaultsConfig, LimitsConfig


@dataclass(frozen=True)
class Refusal:
    retry_after: int
    reason: str


class RateLimiter:
    def __init__(self, clock: SandboxClock, limits: LimitsConfig) -> None:
        self._clock = clock
        self.limits = limits
        self._windows: dict[str, deque[float]] = {}
        self._days: dict[str, tuple[int, int]] = {}
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, client_id: str) -> Refusal | None:
        """Admit a request (and count it) or say how long to wait."""
        limits = self.limits
        now = self._clock.timestamp()
        with self._lock:
            if limits.concurrent is not None and self._in_flight[client_id] >= limits.concurrent:
                return Refusal(1, f"more than {limits.concurrent} concurrent requests")
            window = self._windows.setdefault(client_id, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if limits.per_minute is not None and len(window) >= limits.per_minute:
                return Refusal(
                    max(1, math.ceil(window[0] + 60 - now)),
                    f"more than {limits.per_minute} requests a minute",
                )
            day = int(now // 86400)
            seen_day, used = self._days.get(client_id, (day, 0))
            if seen_day != day:
                used = 0
            if limits.per_day is not None and used >= limits.per_day:
                return Refusal(
                    max(1, math.ceil((day + 1) * 86400 - now)), f"more than {limits.per_day} requests a day"
                )
            window.append(now)
            self._days[client_id] = (day, used + 1)
            self._in_flight[client_id] += 1
            return None

    def release(self, client_id: str) -> None:
        with self._lock:
            self._in_flight[client_id] -= 1


@dataclass(frozen=True)
class Fault:
    kind: str  # error | slow | drop | truncate
    status: int = 0
    seconds: float = 0.0


class FaultInjector:
    def __init__(self, config: FaultsConfig) -> None:
        self.configure(config)

    def configure(self, config: FaultsConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def draw(self, *, large_page: bool) -> Fault | None:
        """The fault (if any) for the next API request."""
        config = self.config
        if not config.any:
            return None
        with self._lock:
            roll = self._rng.random()
            pick = self._rng.choice((500, 502, 503, 504))
        edges = (
            (config.error_rate, Fault("error", pick)),
            (config.drop_rate, Fault("drop")),
            (config.truncate_rate, Fault("truncate")),
            (config.slow_rate, Fault("slow", seconds=config.slow_seconds)),
        )
        for probability, fault in edges:
            if roll < probability:
                return fault
            roll -= probability
        if large_page and roll < config.large_page_error_rate:
            return Fault("error", (500, 502, 504)[pick % 3])
        return None


class RequestCounters:
    """Requests served, by ``METHOD route`` and status (tests and benchmarks read these)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, route: str, outcome: int | str) -> None:
        """Count one request; ``outcome`` is its status, or ``drop``/``truncate`` for a broken one."""
        with self._lock:
            self._counts[(route, str(outcome))] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (route, outcome), count in sorted(self._counts.items()):
                out.setdefault(route, {})[outcome] = count
            return out

    def total(self, outcome: int | str | None = None, prefix: str = "") -> int:
        """Requests whose route starts with ``prefix`` (and, if given, had this outcome)."""
        wanted = None if outcome is None else str(outcome)
        with self._lock:
            return sum(
                n
                for (route, o), n in self._counts.items()
                if route.startswith(prefix) and wanted in (None, o)
            )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
