"""The whole fake Sage in one object: clock, OAuth server, businesses and books, limits, faults.

Tests and benchmarks drive it through this Python API (or through the admin routes under
``/_sandbox`` when the server runs in another process). Every method that touches the books
takes ``lock``, which the HTTP handlers take too, so a test thread can move time while the
server thread is answering requests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sage_sandbox.access import PRESETS, Roles
from sage_sandbox.books.audit import audit
from sage_sandbox.books.banking import JournalLine, journal
from sage_sandbox.books.business import Business, Row
from sage_sandbox.books.changes import delete_posted, double_journal, redate_posted
from sage_sandbox.books.world import World
from sage_sandbox.catalog import ENDPOINTS
from sage_sandbox.clock import SandboxClock
from sage_sandbox.config import FaultsConfig, LimitsConfig, SandboxConfig
from sage_sandbox.dialects import DIALECTS
from sage_sandbox.oauth import AuthorizationServer, Client
from sage_sandbox.snapshot import load_or_build
from sage_sandbox.traffic import FaultInjector, RateLimiter, RequestCounters


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config = config or SandboxConfig()
        self.clock = SandboxClock(config.now, frozen=config.frozen_clock)
        self.lock = threading.RLock()
        started = time.perf_counter()
        self.from_snapshot = False
        if config.snapshot_dir is not None:
            self.world, self.from_snapshot = load_or_build(config, self.clock.now_ts(), config.snapshot_dir)
        else:
            self.world = World(config, self.clock.now_ts())
        self.build_seconds = time.perf_counter() - started
        self.auth = AuthorizationServer(
            self.clock,
            [Client(config.client_id, config.client_secret)],
            code_ttl=config.code_ttl,
            access_token_ttl=config.access_token_ttl,
            refresh_token_ttl=config.refresh_token_ttl,
        )
        self.dialect = DIALECTS[config.dialect]
        # The demo user's role per area in each of its businesses; other users own theirs.
        self.roles = {biz_id: config.roles_of(index) for index, biz_id in enumerate(self.business_ids)}
        self.limiter = RateLimiter(self.clock, config.limits)
        self.faults = FaultInjector(config.faults)
        self.counters = RequestCounters()

    # -- who is who ---------------------------------------------------------------------------

    @property
    def user_id(self) -> str:
        return self.world.user.id

    @property
    def business_ids(self) -> list[str]:
        """The demo user's businesses, lead first."""
        return [b.id for b in self.world.businesses_of(self.world.user.id)]

    @property
    def outsider_business_id(self) -> str:
        """A business that exists but belongs to another user."""
        return self.world.businesses_of(self.world.outsider.id)[0].id

    def business(self, business_id: str) -> Business:
        return self.world.businesses[business_id]

    def roles_in(self, business_id: str) -> Roles:
        """The role per area the business's user has (``access.py``); owners have Full Access."""
        return self.roles.get(business_id, PRESETS["full_access"])

    # -- time -----------------------------------------------------------------------------------

    def advance(self, days: float) -> dict[str, Any]:
        """Move the books forward ``days`` days: new documents, payments, edits, voids, deletes."""
        if days < 0:
            raise ValueError("days must not be negative")
        with self.lock:
            start = self.clock.now_ts()
            end = start + round(days * 86400)
            self.clock.advance(end - start)
            changes = self.world.advance(start, end)
        return {"from": start, "to": end, "businesses": changes}

    def delete_unused(self, business_id: str, resource: str, row_id: str) -> None:
        """Delete a row nothing refers to, as a user deletes an unused ledger account or tax rate.

        The caller vouches that nothing refers to it. Lists without a delete feed (ledger
        accounts, tax rates) then simply stop showing it, which only an id sweep notices.
        """
        with self.lock:
            collection = self.business(business_id)[resource]
            position = collection.position_of(row_id)
            if position is None or not collection.is_live(position):
                raise KeyError(f"{resource}/{row_id} is not a live row of business {business_id}")
            collection.delete(position, self.clock.now_ts())

    def backdate_journal(self, business_id: str, days_ago: int, amount: Decimal) -> str:
        """Post a journal dated ``days_ago`` days back, now: an accountant's late adjustment to an
        old period (its ``updated_at`` is now, its ``date`` and its ledger entries are old).
        Returns the journal's id."""
        with self.lock:
            biz = self.business(business_id)
            today = datetime.fromtimestamp(self.clock.now_ts(), UTC).date()
            position = journal(
                biz,
                date=(today - timedelta(days=days_ago)).isoformat(),
                ts=self.clock.now_ts(),
                reference=f"ADJ-{days_ago}",
                description="Late accrual",
                lines=[
                    JournalLine("wages", "Accrued pay", debit=amount),
                    JournalLine("payroll_liabilities", "Accrued pay", credit=amount),
                ],
            )
            return str(biz["journals"].get(position)["id"])

    def redate_document(self, business_id: str, resource: str, row_id: str, days: int) -> str:
        """Move a posted document (a journal, an other payment) ``days`` days (negative: earlier), now,
        as a user edits its date: its transaction and ledger entries move with it, to another period
        when the move crosses a month end. Returns the new date."""
        with self.lock:
            biz = self.business(business_id)
            position = self._live_position(biz, resource, row_id)
            moved = date.fromisoformat(biz[resource].get(position)["date"]) + timedelta(days=days)
            redate_posted(biz, resource, position, moved.isoformat(), self.clock.now_ts())
            return moved.isoformat()

    def double_journal(self, business_id: str, journal_id: str) -> None:
        """Double a posted journal's amounts, now, in place (same ids, dates and number of entries)."""
        with self.lock:
            biz = self.business(business_id)
            double_journal(biz, self._live_position(biz, "journals", journal_id), self.clock.now_ts())

    def delete_document(self, business_id: str, resource: str, row_id: str) -> None:
        """Delete a posted document nothing is allocated to (a journal, an other payment), now: it
        leaves the list (a deleted_since feed has it) and its transaction and ledger entries are
        marked deleted, as Sage does."""
        with self.lock:
            biz = self.business(business_id)
            delete_posted(biz, resource, self._live_position(biz, resource, row_id), self.clock.now_ts())

    @staticmethod
    def _live_position(biz: Business, resource: str, row_id: str) -> int:
        position = biz[resource].position_of(row_id)
        if position is None or not biz[resource].is_live(position):
            raise KeyError(f"{resource}/{row_id} is not a live row of business {biz.id}")
        return position

    def move_clock(self, seconds: float) -> int:
        """Let time pass without business activity (token expiry, rate-limit windows)."""
        self.clock.advance(seconds)
        return self.clock.now_ts()

    # -- limits and faults ----------------------------------------------------------------------

    def set_limits(self, limits: LimitsConfig) -> None:
        self.limiter.limits = limits

    def set_faults(self, faults: FaultsConfig) -> None:
        self.faults.configure(faults)

    def update_limits(self, **changes: Any) -> LimitsConfig:
        self.limiter.limits = replace(self.limiter.limits, **changes)
        return self.limiter.limits

    def update_faults(self, **changes: Any) -> FaultsConfig:
        self.faults.configure(replace(self.faults.config, **changes))
        return self.faults.config

    # -- ground truth ---------------------------------------------------------------------------

    def ground_truth(self, business_id: str) -> dict[str, list[Row]]:
        """Every row of a business as ``attributes=all&show_payments_allocations=true`` serves it.

        Keys are endpoint names plus ``financial_settings`` and ``businesses`` (one row each).
        """
        with self.lock:
            biz = self.business(business_id)
            truth: dict[str, list[Row]] = {name: list(biz[name].iter_rows()) for name in ENDPOINTS}
            truth["financial_settings"] = [dict(biz.financial_settings)]
            truth["businesses"] = [biz.business_row()]
            return truth

    def deletions(self, business_id: str, since: int = 0) -> dict[str, list[dict[str, Any]]]:
        """Rows hard-deleted after ``since`` (epoch seconds), per endpoint: id and deleted_at."""
        with self.lock:
            biz = self.business(business_id)
            out: dict[str, list[dict[str, Any]]] = {}
            for name, collection in biz.collections.items():
                gone = collection.deleted_since(since)
                if gone:
                    out[name] = [
                        {"id": collection.id_of(p), "deleted_at": collection.deleted_at(p)} for p in gone
                    ]
            return out

    def audit(self) -> dict[str, list[str]]:
        """Accounting invariants that fail, per business (empty lists: the books add up)."""
        with self.lock:
            return {b.id: audit(self.ground_truth(b.id)) for b in self.world.with_books()}
