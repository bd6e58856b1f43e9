"""A big first load read in windows of document dates, each window loaded and committed on its own.

A business's first load of a large dated list (a million invoices is ~5,000 pages, hours at
Sage's request budget) used to land whole or not at all, in the run's one load package: a kill
near the end cost everything. Now, when the list holds more than ``window_rows`` rows, the first
load is split by the rows' accounting ``date`` (Sage's ``from_date``/``to_date``, inclusive),
oldest first, and each pass of the runner reads one window per business × resource; the runner
loads and commits each pass (:mod:`pipelines.runner`) and loops while a backfill is unfinished.

Correct without trusting Sage's list order, or that nothing changes meanwhile:

* The windows cover every date: the first has no lower bound and the last no upper bound (rows
  dated in the future), so any row with a date is in exactly one window when it is read. Sage
  gives every accounting operation a date; nothing here sorts, and the row counts used to size
  the windows (``$total`` of one-row pages) only make windows even, never decide what is read.
* When the backfill began (``started``, the server's time) is kept. When the last window is
  done the watermark becomes that moment, so the first incremental read asks for
  ``updated_or_created_since`` = started − overlap: every row created, changed or moved to another
  date (a window already read) during the backfill is read again, and Sage's delete feed is asked
  from the same moment, so rows deleted from windows already read are marked too.
* Windows after the first merge (``sage_source.first_load`` sees the business's keys in the
  destination): a row whose date moved into a later window is read twice and kept once. Appending
  those windows would need the ids already loaded; merging costs only load time, which is small
  beside the hours of requests.

State, in the business × resource slot beside the watermarks (:mod:`sage_source.watermarks`),
committed with each window's load package: ``backfill = {"started": ..., "windows": [[from, to],
...], "done": n}``. A rerun after a kill reads window ``done`` next; the windows themselves are
planned once, so a resumed backfill reads the same ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sage_source.client import SageClient
from sage_source.listing import ListTooLong
from sage_source.pages import page_total
from sage_source.settings import Endpoint
from sage_source.watermarks import format_time, parse_time

BACKFILL = "backfill"  # the key of a backfill's state in a business × resource slot
# Where the search for a list's oldest date starts: only the windows' sizes depend on it (the first
# window has no lower bound), so older books are still read whole.
EARLIEST = date(1990, 1, 1)


@dataclass(frozen=True)
class Window:
    """Rows dated ``first`` to ``last``, both inclusive; ``None``: no bound on that side."""

    first: date | None
    last: date | None

    def params(self) -> dict[str, str]:
        """Sage's ``from_date``/``to_date`` for this window."""
        bounds = {"from_date": self.first, "to_date": self.last}
        return {name: day.isoformat() for name, day in bounds.items() if day is not None}

    def __str__(self) -> str:
        return f"{self.first or '…'} to {self.last or '…'}"


class Backfill:
    """A backfill's state in its slot (a dict dlt saves with the resource's state)."""

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self.state = state

    @property
    def started(self) -> datetime:
        return parse_time(self.state["started"])

    @property
    def windows(self) -> list[Window]:
        return [Window(_day(first), _day(last)) for first, last in self.state["windows"]]

    @property
    def done(self) -> int:
        return int(self.state["done"])

    @property
    def next_window(self) -> Window:
        return self.windows[self.done]

    @property
    def finished(self) -> bool:
        return self.done >= len(self.state["windows"])

    def advance(self) -> None:
        self.state["done"] = self.done + 1


def new_state(started: datetime, windows: list[Window]) -> dict[str, Any]:
    pairs = [[_text(window.first), _text(window.last)] for window in windows]
    return {"started": format_time(started), "windows": pairs, "done": 0}


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _text(day: date | None) -> str | None:
    return day.isoformat() if day else None


def wanted(endpoint: Endpoint, window_rows: int, full_refresh: bool, synced: bool) -> bool:
    """A first load of a dated list may be windowed (a full refresh reads whole, as before)."""
    return endpoint.dated and window_rows > 0 and not full_refresh and not synced


def plan(
    client: SageClient,
    endpoint: Endpoint,
    business_id: str,
    filters: Mapping[str, Any],
    too_long: ListTooLong,
    *,
    window_rows: int,
) -> dict[str, Any]:
    """The windows of a first load whose listing said it holds ``too_long.total`` rows.

    The size came free with the listing's first page (a list small enough to read whole costs no
    request more); the oldest date costs about fifteen one-row pages, found by bisection on
    ``to_date``: nothing here depends on the order Sage lists rows in."""
    newest = too_long.started.date()
    oldest = _oldest(client, endpoint.name, business_id, filters, newest)
    return new_state(too_long.started, split(oldest, newest, math.ceil(too_long.total / window_rows)))


def split(oldest: date, newest: date, count: int) -> list[Window]:
    """``count`` windows of equal spans from ``oldest`` to ``newest`` (fewer if there are fewer
    days); the first is open below and the last open above, so together they cover every date."""
    days = (newest - oldest).days + 1
    span = math.ceil(days / max(1, min(count, days)))
    starts = [oldest + timedelta(days=offset) for offset in range(span, days, span)]
    firsts: list[date | None] = [None, *starts]
    lasts: list[date | None] = [*(start - timedelta(days=1) for start in starts), None]
    return [Window(first, last) for first, last in zip(firsts, lasts, strict=True)]


def _count(client: SageClient, name: str, business_id: str, filters: Mapping[str, Any]) -> int:
    """``$total`` of the list under ``filters`` (asked with a page of one row)."""
    response = client.get(name, {**filters, "items_per_page": 1}, business_id)
    return page_total(response.content) or 0


def _oldest(
    client: SageClient, name: str, business_id: str, filters: Mapping[str, Any], newest: date
) -> date:
    """The first day from ``EARLIEST`` on with a row dated on or before it (``newest`` if none)."""
    low, high = EARLIEST, newest
    while low < high:
        middle = low + (high - low) // 2
        if _count(client, name, business_id, {**filters, "to_date": middle.isoformat()}):
            high = middle
        else:
            low = middle + timedelta(days=1)
    return low


def unfinished(state: Mapping[str, Any], source: str) -> dict[tuple[str, str], int]:
    """Backfills under way in a pipeline's state: (resource, business id) → windows done."""
    resources = state.get("sources", {}).get(source, {}).get("resources", {})
    return {
        (resource, business_id): int(slot[BACKFILL]["done"])
        for resource, businesses in resources.items()
        for business_id, slot in businesses.items()
        if isinstance(slot, Mapping) and BACKFILL in slot
    }
