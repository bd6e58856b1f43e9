"""Daily exchange rates: a seeded random walk per currency around the profile's typical rate.

Rates are generated in day order from the business's first day and cached, so the rate of a
day never depends on which days were asked for first (books are reproducible per seed).
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal

from sage_sandbox.books.countries import CountryProfile
from sage_sandbox.money import rate


class ExchangeRates:
    """Units of a foreign currency per unit of base currency, per calendar day."""

    def __init__(self, seed: int, business_number: int, profile: CountryProfile, first_day: date) -> None:
        self._first = first_day.toordinal()
        self._walks: dict[str, tuple[random.Random, list[Decimal], float]] = {}
        for currency, typical in profile.foreign_currencies.items():
            rng = random.Random(f"{seed}:{business_number}:fx:{currency}")
            self._walks[currency] = (rng, [rate(typical)], float(typical))

    def on(self, currency: str, day: date, base_currency: str) -> Decimal:
        if currency == base_currency:
            return Decimal(1)
        rng, series, typical = self._walks[currency]
        index = max(0, day.toordinal() - self._first)
        while len(series) <= index:
            previous = float(series[-1])
            # Mean-reverting walk: ~0.4% daily moves that drift back towards the typical rate.
            step = rng.gauss(0, 0.004) + 0.02 * math.log(typical / previous)
            series.append(rate(Decimal(str(round(previous * math.exp(step), 6)))))
        return series[index]
