"""Everything that shapes a sandbox: its books, its OAuth client, its limits and its faults.

Defaults give the server the test suite and the demo use: two businesses (GB lead, US), a few
hundred invoices each, Sage's token lifetimes, and no limits or faults. Limits and faults are
off by default and, when on, seeded: the same seed and the same requests give the same 429s
and 5xx, so a failing test can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class LimitsConfig:
    """Request limits per OAuth client (app), answered ``429`` with ``Retry-After``."""

    per_minute: int | None = None
    per_day: int | None = None
    concurrent: int | None = None
    # Seconds every API request waits before it is served. Requests then overlap as they do on
    # a real server, which is what gives a concurrency limit something to limit.
    latency: float = 0.0


@dataclass(frozen=True)
class FaultsConfig:
    """Injected failures on API requests (not on OAuth or admin routes), drawn from ``seed``.

    Each ``*_rate`` is the probability that one API request gets that fault.
    ``large_page_error_rate`` applies only to ``attributes=all`` pages of more than
    ``large_page_threshold`` items, as Sage's own 500/502/504 on heavy pages do.
    """

    seed: int = 0
    error_rate: float = 0.0  # 500/502/503/504, chosen evenly
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    drop_rate: float = 0.0  # connection closed after the headers, no body
    truncate_rate: float = 0.0  # body cut short of its Content-Length
    large_page_error_rate: float = 0.0
    large_page_threshold: int = 100

    @property
    def any(self) -> bool:
        return any(
            (self.error_rate, self.slow_rate, self.drop_rate, self.truncate_rate, self.large_page_error_rate)
        )


@dataclass(frozen=True)
class SandboxConfig:
    seed: int = 1
    businesses: int = 2
    invoices: int = 300  # sales invoices per business over the history
    history_days: int = 730
    now: datetime | None = None  # the clock's start; None: the real current time
    frozen_clock: bool = False
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    access_token_ttl: int = 300
    refresh_token_ttl: int = 2_678_400
    code_ttl: int = 60
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    snapshot_dir: Path | None = None  # reuse books built before (needs ``now``); see snapshot.py
