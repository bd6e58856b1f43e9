"""What every part of a business's simulated day draws on: its books, its dice and its clock.

One seeded ``random.Random`` per business is shared by every part (sales, purchases, settlements,
the routine, corrections), so the parts must draw from it in the same order the day always did:
the same seed and the same calls then give the same books.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from sage_sandbox.books.business import Business, ContactInfo
from sage_sandbox.books.rates import ExchangeRates
from sage_sandbox.money import ZERO, cents

RECENT = 400  # how many recent documents are candidates for edits, credit notes, voids, deletes


def _recent() -> deque[int]:
    return deque(maxlen=RECENT)


@dataclass
class Recent:
    """Positions of recent documents, the candidates for credit notes, edits, voids and deletes."""

    sales: deque[int] = field(default_factory=_recent)  # posted sales invoices
    purchases: deque[int] = field(default_factory=_recent)  # purchase invoices
    payments: deque[int] = field(default_factory=_recent)  # base-currency contact payments
    other: deque[int] = field(default_factory=_recent)  # office and phone bills (other payments)


class Context:
    """One business's books, dice, clock and customers, as every part of its day uses them."""

    def __init__(self, biz: Business, seed: int, invoices_per_day: Fraction, first_day: date) -> None:
        self.biz = biz
        self.rng = random.Random(f"{seed}:{biz.number}:activity")
        self.rates = ExchangeRates(seed, biz.number, biz.profile, first_day)
        self.invoices_per_day = invoices_per_day
        self.recent = Recent()
        self._carry: dict[str, Fraction] = defaultdict(Fraction)
        self.customers = [i for i, c in enumerate(biz.contacts) if c.kind == "CUSTOMER"]
        self.suppliers = [i for i, c in enumerate(biz.contacts) if c.kind == "VENDOR"]
        # A few customers bring most of the business (Zipf-like weights).
        self._customer_weights = _cumulative([1 / (i + 1) ** 0.8 for i in range(len(self.customers))])
        self._supplier_weights = _cumulative([1 / (i + 1) ** 0.6 for i in range(len(self.suppliers))])
        self.average_price = sum((i.price for i in biz.items), ZERO) / max(1, len(biz.items))
        # Typical monthly sales (about ten units an invoice): sizes rent, payroll and the rest.
        per_day = Decimal(invoices_per_day.numerator) / Decimal(invoices_per_day.denominator)
        self.monthly = cents(max(Decimal(4000), per_day * 30 * 10 * self.average_price))
        self.today = first_day
        self._ts = 0
        self._end = 0
        self._step = 1.0

    def begin_day(self, day: date, start_ts: int, end_ts: int) -> None:
        """Stamp what follows on ``day`` between ``start_ts`` and ``end_ts``, spread over the day."""
        expected = float(self.invoices_per_day) * 3 + 8
        self.today = day
        self._ts, self._end = start_ts, end_ts
        self._step = max(1.0, (end_ts - start_ts) / expected)

    def next_ts(self) -> int:
        """The next event's second: time only moves forward; some events share a second."""
        if self.rng.random() >= 0.2:
            self._ts += max(1, int(self._step * self.rng.uniform(0.3, 1.7)))
        self._ts = min(self._ts, self._end)
        return self._ts

    def take(self, series: str, per_day: Fraction) -> int:
        """How many of ``series`` happen today: fractions per day accumulate exactly across days."""
        self._carry[series] += per_day
        whole = int(self._carry[series])
        self._carry[series] -= whole
        return whole

    def customer(self) -> int:
        return self.rng.choices(self.customers, cum_weights=self._customer_weights)[0]

    def supplier(self) -> int:
        return self.rng.choices(self.suppliers, cum_weights=self._supplier_weights)[0]

    def base_currency_contact(self, pick: Callable[[], int]) -> int | None:
        """A contact billed in base currency (Sage has no foreign-currency quick entries)."""
        for _ in range(8):
            index = pick()
            if self.biz.contacts[index].currency == self.biz.currency:
                return index
        return None

    def rate(self, contact: ContactInfo, day: date) -> Decimal:
        return self.rates.on(contact.currency, day, self.biz.currency)

    def wobble(self) -> Decimal:
        """A month-to-month factor of 0.85-1.15 for bills that vary."""
        return Decimal(self.rng.randrange(85, 116)) / 100


def day_of(text: str) -> date:
    return date.fromisoformat(text)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out
