"""Everything that shapes a sandbox: its books, its OAuth client, its limits and its faults.

Defaults give the server the test suite and the demo use: two businesses (GB lead, US), a few
hundred invoices each, Sage's token lifetimes, and no limits or faults. Limits and faults are
off by default and, when on, seeded: the same seed and the same requests give the same 429s
and 5xx, so a failing test can be replayed. The user has Full Access everywhere, every business
offers every list, and the dialect is ``default``: the sandbox as it always was.

Businesses are numbered by index, as ``Sandbox.business_ids`` lists them: 0 is the lead (GB),
1 the US one, then alternating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sage_sandbox.access import resolve_roles
from sage_sandbox.catalog import ENDPOINTS, PRODUCTS
from sage_sandbox.dialects import DIALECTS

# A preset name (``"full_access"``, ``"read_only"``) or area -> role; areas left out: Full Access.
RolesSetting = str | Mapping[str, str]


@dataclass(frozen=True)
class LimitsConfig:
    """Request limits per OAuth client (app), answered ``429`` with ``Retry-After``."""

    per_minute: int | None = None
    per_day: int | None = None
    concurrent: int | None = None
    # Seconds every API request waits before it is served. Requests then overlap as they do on
    # a real server, which is what gives a concurrency limit something to limit.
    latency: float = 0.0
    # The sliding window ``per_minute`` counts over: Sage's 60 seconds. Only tests shorten it, so
    # that a budget can be watched over several windows in seconds rather than minutes.
    window_seconds: float = 60.0


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
    # Sage's undocumented choices: "default" or "variant" (dialects.py).
    dialect: str = "default"
    # The user's roles in every business (access.py) ...
    roles: RolesSetting = "full_access"
    # ... unless given here for a business, by index: {1: "read_only"}.
    business_roles: Mapping[int, RolesSetting] = field(default_factory=dict)
    # The Sage product of a business, by index; others: "Accounting Plus".
    products: Mapping[int, str] = field(default_factory=dict)
    # Lists a business does not offer (404), by index, as where Sage does not sell them; its
    # books then hold no documents of them: {1: ("sales_credit_notes", "purchase_credit_notes")}.
    unavailable: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {self.dialect!r}; dialects: {', '.join(DIALECTS)}")
        for roles in (self.roles, *self.business_roles.values()):
            resolve_roles(roles)
        for setting in (self.business_roles, self.products, self.unavailable):
            for index in setting:
                if not 0 <= index < self.businesses:
                    raise ValueError(f"no business {index}: indexes run from 0 to {self.businesses - 1}")
        for product in self.products.values():
            if product not in PRODUCTS:
                raise ValueError(f"unknown product {product!r}; products: {', '.join(PRODUCTS)}")
        for names in self.unavailable.values():
            if isinstance(names, str) or not set(names) <= set(ENDPOINTS):
                raise ValueError(f"unavailable lists must be a tuple of endpoint names, got {names!r}")

    def roles_of(self, index: int) -> dict[str, str]:
        """The user's role in each area of business ``index``."""
        return resolve_roles(self.business_roles.get(index, self.roles))
