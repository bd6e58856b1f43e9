"""Where each business × resource got to, kept in dlt's resource state.

dlt saves resource state with the load package and only commits it when the extract succeeds,
so a failed run leaves every watermark where it was and the next run re-reads the same window.
One slot per business (keyed by its id) holds:

* ``updated_at``: the newest ``updated_at`` loaded. The next run asks for
  ``updated_or_created_since = updated_at - overlap``: rows changed in the same second as the
  newest one, or committed late, are read again and merged, never missed.
* ``deleted_since``: the server's time (its ``Date`` header) when the last run began reading
  this business. Deletions after it are asked for next time (``deleted_since`` is exclusive);
  the overlap covers the gap between Sage's clock and its ``deleted_at`` stamps.
* ``swept_at``: when the ids of a resource without a delete feed were last listed.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, date, datetime, timedelta
from typing import Any


def parse_time(text: str) -> datetime:
    """An ISO date or timestamp as an aware UTC datetime (a date alone is its midnight UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Sage's timestamp form: whole seconds, UTC, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_moment(server_time: float | None) -> datetime:
    """The server's time of an answer (its ``Date`` header), or ours when it sent none.

    Watermarks and sweeps are dated on Sage's clock (``deleted_since`` is compared with Sage's
    own stamps); ours stands in only for an answer without a ``Date`` header."""
    return datetime.fromtimestamp(server_time, UTC) if server_time is not None else datetime.now(UTC)


class Cursor:
    """The state slot of one business × resource."""

    def __init__(self, slot: MutableMapping[str, Any]) -> None:
        self.slot = slot

    @property
    def synced(self) -> bool:
        """A run has finished this business × resource before: rows may already be loaded."""
        return "deleted_since" in self.slot

    @property
    def last_success(self) -> datetime | None:
        """When the last whole read of this business × resource began (the server's time)."""
        mark = self.slot.get("deleted_since")
        return parse_time(mark) if mark is not None else None

    def reset(self) -> None:
        self.slot.clear()

    def updated_since(self, overlap: timedelta, start_date: datetime | None) -> str | None:
        """``updated_or_created_since`` for this run; ``None`` reads everything."""
        mark = self.slot.get("updated_at")
        if mark is not None:
            return format_time(parse_time(mark) - overlap)
        return format_time(start_date) if start_date is not None else None

    def deleted_since(self, overlap: timedelta) -> str | None:
        mark = self.slot.get("deleted_since")
        return None if mark is None else format_time(parse_time(mark) - overlap)

    def sweep_due(self, now: datetime, every: timedelta) -> bool:
        swept = self.slot.get("swept_at")
        return swept is None or now - parse_time(swept) >= every

    def finish(self, newest_updated: datetime | None, started: datetime, swept: datetime | None) -> None:
        """Record a completed read (called at the end of the business's extract)."""
        if newest_updated is not None:
            old = self.slot.get("updated_at")
            if old is None or newest_updated > parse_time(old):
                self.slot["updated_at"] = format_time(newest_updated)
        self.slot["deleted_since"] = format_time(started)
        if swept is not None:
            self.slot["swept_at"] = format_time(swept)
