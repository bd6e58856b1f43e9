"""All businesses of the sandbox, their history, and time moving forward.

The demo user owns ``businesses`` businesses (the first, a UK one, is the lead; then a US one,
then alternating). A second user owns one more business, so the API can be asked for a
business that exists but is not the caller's.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from sage_sandbox.books import setup
from sage_sandbox.books.business import Business
from sage_sandbox.books.countries import PROFILES
from sage_sandbox.books.simulation import OPTIONAL_LISTS, Simulator
from sage_sandbox.catalog import DEFAULT_PRODUCT, ENDPOINTS, SINGLETONS, route_rules
from sage_sandbox.config import SandboxConfig
from sage_sandbox.dialects import DIALECTS
from sage_sandbox.ids import IdCodec, tag_for
from sage_sandbox.money import sage_decimal

GB_NAMES = ("Northwind Trading", "Kingfisher Workshop", "Bramble & Co")
US_NAMES = ("Cascade Goods", "Prairie Fixtures", "Harbor Point Supply")
BUSINESS_HOURS = (8 * 3600, 20 * 3600)


@dataclass(frozen=True)
class User:
    id: str
    first_name: str
    last_name: str
    email: str
    locale: str
    created_ts: int

    def row(self) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.created_ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "created_at": stamp,
            "updated_at": stamp,
            "displayed_as": f"{self.first_name} {self.last_name}",
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "initials": self.first_name[0] + self.last_name[0],
            "email": self.email,
            "locale": self.locale,
        }


class World:
    """Users, their businesses, and one simulator per business."""

    def __init__(self, config: SandboxConfig, now_ts: int) -> None:
        self.config = config
        today = datetime.fromtimestamp(now_ts, UTC).date()
        self.first_day = today - timedelta(days=config.history_days)
        created = setup.created_timestamp(self.first_day - timedelta(days=1))
        user_codec = IdCodec(tag_for(config.seed, "users"))
        self.user = User(user_codec.encode(1), "Alex", "Morgan", "alex.morgan@example.com", "en-GB", created)
        self.outsider = User(
            user_codec.encode(2), "Sam", "Rivera", "sam.rivera@example.com", "en-US", created
        )
        self.businesses: dict[str, Business] = {}
        self.owner: dict[str, str] = {}
        self._simulators: dict[str, Simulator] = {}
        per_day = Fraction(config.invoices, config.history_days)
        for number in range(1, config.businesses + 1):
            self._add(number, self.user, per_day, created, today)
        self._add(config.businesses + 1, self.outsider, Fraction(1, 30), created, today, with_books=False)
        self.lead_id = next(iter(self.businesses))
        self._history(today, now_ts)

    def _add(
        self,
        number: int,
        owner: User,
        per_day: Fraction,
        created: int,
        today: date,
        *,
        with_books: bool = True,
    ) -> None:
        profile = PROFILES["GB" if number % 2 == 1 else "US"]
        names = GB_NAMES if profile.code == "GB" else US_NAMES
        name = names[(number - 1) // 2 % len(names)] + (" Ltd" if profile.code == "GB" else " Inc.")
        index = number - 1
        product = self.config.products.get(index, DEFAULT_PRODUCT)
        unavailable = unavailable_lists(profile.code, product, self.config.unavailable.get(index, ()))
        biz = Business(number, self.config.seed, profile, name, created, owner.id, product, unavailable)
        self.businesses[biz.id] = biz
        self.owner[biz.id] = owner.id
        if not with_books:
            return
        rng = random.Random(f"{self.config.seed}:{number}:setup")
        setup.reference_lists(biz)
        setup.tax_rates(biz, created, self.first_day)
        setup.ledger_accounts(biz, created, DIALECTS[self.config.dialect].control_names)
        setup.bank_accounts(biz, created, rng)
        setup.financial_settings(biz, created, self.first_day, today)
        invoices = self.config.invoices
        setup.contacts(
            biz,
            created,
            rng,
            customers=_clamp(invoices // 25, 8, 20_000),
            suppliers=_clamp(invoices // 100, 6, 3_000),
        )
        setup.products_and_services(
            biz,
            created,
            rng,
            products=_clamp(invoices // 500, 6, 400),
            services=_clamp(invoices // 1000, 4, 200),
        )
        self._simulators[biz.id] = Simulator(biz, self.config.seed, per_day, self.first_day)

    def businesses_of(self, user_id: str) -> list[Business]:
        return [b for b in self.businesses.values() if self.owner[b.id] == user_id]

    def _history(self, today: date, now_ts: int) -> None:
        with cyclic_gc_paused():
            self._simulate_history(today)
        release_freed_memory()

    def _simulate_history(self, today: date) -> None:
        for biz_id, simulator in self._simulators.items():
            day = self.first_day
            while day < today:
                start, end = _day_window(day)
                simulator.run_day(day, start, end)
                day += timedelta(days=1)
            sync_computed_fields(self.businesses[biz_id])
            for collection in self.businesses[biz_id].collections.values():
                collection.seal_all()

    def advance(self, start_ts: int, end_ts: int) -> dict[str, Any]:
        """Simulate ``(start_ts, end_ts]`` for every business; summarise what changed."""
        before = {b: {n: len(c) for n, c in self.businesses[b].collections.items()} for b in self._simulators}
        with cyclic_gc_paused():
            self._simulate(start_ts, end_ts)
        return {
            biz_id: summarise(self.businesses[biz_id], before[biz_id], start_ts, end_ts)
            for biz_id in self._simulators
        }

    def _simulate(self, start_ts: int, end_ts: int) -> None:
        for biz_id, simulator in self._simulators.items():
            cursor = start_ts
            while cursor < end_ts:
                day = datetime.fromtimestamp(cursor, UTC).date()
                day_end = min(
                    end_ts, int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86400 - 1
                )
                simulator.run_day(day, cursor + 1, day_end)
                cursor = day_end + 1 if day_end < end_ts else end_ts
            sync_computed_fields(self.businesses[biz_id])

    def with_books(self) -> list[Business]:
        return [self.businesses[b] for b in self._simulators]


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Simulating allocates millions of short-lived, acyclic rows that reference counting frees;
    the cyclic collector would rescan every long-lived object again and again (a fifth of the
    build time). Pause it while the books are written, collect once after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def release_freed_memory() -> None:
    """Hand memory freed while building back to the operating system.

    Building writes each row several times and compresses blocks as it goes; glibc keeps the
    freed space in its arenas, so without this the server would hold its build-time peak.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def unavailable_lists(country: str, product: str, chosen: Iterable[str]) -> frozenset[str]:
    """What a business does not offer: what Sage does not sell in its country with its product
    (the swagger's "Endpoint Availability"), and the lists chosen in the config. Its books must
    do without every one of them."""
    if (product, country) not in route_rules("financial_settings")[1]:
        raise ValueError(f"Sage does not sell {product} in {country}")
    names = {n for n in (*ENDPOINTS, *SINGLETONS) if (product, country) not in route_rules(n)[1]}
    names.update(chosen)
    if not names <= OPTIONAL_LISTS:
        raise ValueError(
            f"the books cannot do without {', '.join(sorted(names - OPTIONAL_LISTS))}; "
            f"lists a business may lack: {', '.join(sorted(OPTIONAL_LISTS))}"
        )
    return frozenset(names)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _day_window(day: date) -> tuple[int, int]:
    midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return midnight + BUSINESS_HOURS[0], midnight + BUSINESS_HOURS[1]


def sync_computed_fields(biz: Business) -> None:
    """Bank balances are computed by Sage at read time: refresh them without moving ``updated_at``."""
    collection = biz["bank_accounts"]
    for bank in biz.banks.values():
        balance = sage_decimal(biz.balances.get(bank.role, Decimal(0)))
        row = collection.get(bank.position)
        if row["balance"] != balance:
            row["balance"] = balance
            collection.put(bank.position, row)


def summarise(biz: Business, before: dict[str, int], start_ts: int, end_ts: int) -> dict[str, Any]:
    """Counts of rows created, updated (not created) and deleted in ``(start_ts, end_ts]``."""
    created: dict[str, int] = {}
    updated: dict[str, int] = {}
    deleted: dict[str, int] = {}
    for name, collection in biz.collections.items():
        old = before[name]
        if len(collection) > old:
            created[name] = len(collection) - old
        stamps = collection.updated_view()[:old]
        changed = int(np.count_nonzero((stamps > start_ts) & (stamps <= end_ts)))
        if changed:
            updated[name] = changed
        gone = len(collection.deleted_since(start_ts))
        if gone:
            deleted[name] = gone
    return {"created": created, "updated": updated, "deleted": deleted}
