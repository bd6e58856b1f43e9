"""Request limits, injected faults and request counters: the parts of Sage a client must survive.

Limits are counted per OAuth client (an app), as Sage's throttling is: a sliding 60-second window
(``window_seconds``), a per-UTC-day quota, and a cap on requests in flight. A refused request gets
``429`` with ``Retry-After`` (whole seconds until the window lets it through) and does not count
against the quota. :class:`Arrivals` remembers when each app's requests came, so a benchmark can
read afterwards how many the app made per window.

Faults are drawn from one seeded generator per sandbox, one draw per API request in arrival
order: the same seed and the same request sequence fail the same way.
"""

from __future__ import annotations

import math
import random
import threading
from array import array
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

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
        self.arrivals = Arrivals()

    def acquire(self, client_id: str) -> Refusal | None:
        """Admit a request (and count it) or say how long to wait."""
        with self._lock:  # the time is read under the lock, so arrivals are recorded in clock order
            now = self._clock.timestamp()
            refusal = self._refusal(client_id, now)
            self.arrivals.add(client_id, now, admitted=refusal is None)
            return refusal

    def _refusal(self, client_id: str, now: float) -> Refusal | None:
        """Under the lock: why the request must wait, or None having counted it."""
        limits = self.limits
        span = limits.window_seconds
        if limits.concurrent is not None and self._in_flight[client_id] >= limits.concurrent:
            return Refusal(1, f"more than {limits.concurrent} concurrent requests")
        window = self._windows.setdefault(client_id, deque())
        while window and window[0] <= now - span:
            window.popleft()
        if limits.per_minute is not None and len(window) >= limits.per_minute:
            return Refusal(
                max(1, math.ceil(window[0] + span - now)),
                f"more than {limits.per_minute} requests "
                + ("a minute" if span == 60 else f"in {span:g} seconds"),
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


class Arrivals:
    """When each app's API requests arrived (the sandbox clock), admitted or refused.

    Kept as arrays of floats (8 bytes a request: a million-request benchmark costs 8 MB). Callers
    add in clock order (under the limiter's lock), so each array is sorted."""

    def __init__(self) -> None:
        self._times: dict[tuple[str, bool], array[float]] = {}
        self._lock = threading.Lock()

    def add(self, client_id: str, at: float, *, admitted: bool) -> None:
        with self._lock:
            self._times.setdefault((client_id, admitted), array("d")).append(at)

    def usage(self, window: float) -> dict[str, dict[str, Any]]:
        """Per app: requests ``admitted`` and ``refused``; ``busiest``, the most the app sent
        (admitted or refused) in any ``window`` seconds (sliding, as the limit counts); and
        ``windows`` / ``refused_windows``, the counts in consecutive windows from the app's first
        request (the last one partial)."""
        with self._lock:
            times = {key: list(values) for key, values in self._times.items()}
        out: dict[str, dict[str, Any]] = {}
        for client_id in sorted({client for client, _ in times}):
            admitted, refused = times.get((client_id, True), []), times.get((client_id, False), [])
            start = min(admitted[:1] + refused[:1])
            out[client_id] = {
                "admitted": len(admitted),
                "refused": len(refused),
                "busiest": _busiest(sorted(admitted + refused), window),
                "windows": _per_window(admitted, start, window),
                "refused_windows": _per_window(refused, start, window),
            }
        return out

    def reset(self) -> None:
        with self._lock:
            self._times.clear()


def _busiest(times: list[float], window: float) -> int:
    """The most of ``times`` (sorted) in any half-open ``(t - window, t]``: two pointers."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - window:
            first += 1
        most = max(most, last - first + 1)
    return most


def _per_window(times: list[float], start: float, window: float) -> list[int]:
    counts: Counter[int] = Counter(int((at - start) // window) for at in times)
    return [counts[i] for i in range(max(counts) + 1)] if counts else []


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
