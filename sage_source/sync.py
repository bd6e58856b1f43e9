"""One business × one resource: what is read, in which order, and when its watermarks move.

Per business, a list resource (:func:`sync_list`):

1. reads what changed since the watermark (``updated_or_created_since``), or the whole list for
   small lists and those whose values change without ``updated_at`` moving (bank balances);
   rows edited while that listing was paged are read again at once;
2. asks the delete feed (``deleted_since``) what went since the last run, where there is one;
3. lists the ids (nothing else) of lists without a delete feed, every ``id_sweep_days``;
4. moves the watermarks (:mod:`sage_source.watermarks`) only after all of that succeeded.

A first load of a large dated list is read one window of dates per run pass instead
(:mod:`sage_source.backfill`), each window landing on its own; the watermarks are set when the
last one is done.

Each business × resource lands whole or not at all (:meth:`ResourceSync.guarded`): its rows are
held in the batch until it is read, and its outcome is recorded either way
(:mod:`sage_source.outcomes`). How a listing is read is :mod:`sage_source.listing`'s part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from sage_source.backfill import BACKFILL, Backfill, plan, wanted
from sage_source.batch import Batch
from sage_source.client import SageClient, server_time
from sage_source.deletions import sweep, tombstones
from sage_source.listing import Listing, ListTooLong, Read, deleted_ids, listed_ids, read_listing
from sage_source.outcomes import LOADED, UNIT_ERRORS, Outcome, report, unit_failure
from sage_source.pages import PageReader
from sage_source.rows import singleton_rows
from sage_source.settings import BATCH_ROWS, Endpoint
from sage_source.tables import DELETIONS_TABLE, OUTCOMES_TABLE, SWEEPS_TABLE
from sage_source.watermarks import Cursor, format_time, server_moment

log = logging.getLogger("sage_source")

# Reads one business of a resource into the batch, returning what it read.
ReadBusiness = Callable[[str, Cursor], Generator[Any, None, Read]]


@dataclass(frozen=True)
class SyncOptions:
    overlap: timedelta
    start_date: datetime | None
    id_sweep_every: timedelta
    full_refresh: bool = False
    window_rows: int = 0  # a first load of a dated list larger than this is read in windows; 0: never
    batch_rows: int = BATCH_ROWS
    run_started_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # keys the outcomes
    business_names: Mapping[str, str] = field(default_factory=dict)  # for messages

    def business(self, business_id: str) -> str:
        name = self.business_names.get(business_id)
        return f"{name!r} ({business_id})" if name else business_id


@dataclass(frozen=True)
class ResourceSync:
    """One resource in one run: its businesses read in turn into one batch.

    One batch across businesses: rows carry ``business_id``, and dlt's cost is per item.
    """

    name: str
    client: SageClient
    options: SyncOptions
    batch: Batch

    def each_business(self, business_ids: Iterable[str], read: ReadBusiness) -> Iterator[Any]:
        """Every business in turn, each whole or not at all, then what is left in the batch."""
        state = dlt.current.resource_state()
        for business_id in business_ids:
            yield from self.guarded(business_id, Cursor(state.setdefault(business_id, {})), read)
        yield from self.batch.flush()

    def guarded(self, business_id: str, cursor: Cursor, read: ReadBusiness) -> Iterator[Any]:
        """One business × resource, whole or not at all; its outcome recorded either way.

        Its rows are held (``Batch.open``) until the read succeeded. If Sage refuses it, does not
        offer it, or it fails after the retries, its rows are dropped, its watermark put back as it
        was, and the other businesses and resources go on (:mod:`sage_source.outcomes`).
        """
        before = dict(cursor.slot)
        requests = self.client.sent(business_id, self.name)
        self.batch.open()
        try:
            done = yield from read(business_id, cursor)
        except UNIT_ERRORS as error:
            self.batch.discard()
            cursor.slot.clear()
            cursor.slot.update(before)
            status, http_status, message = unit_failure(error, self.options.business(business_id), self.name)
            outcome = self._outcome(
                business_id,
                status,
                http_status=http_status,
                message=message,
                requests=self.client.sent(business_id, self.name) - requests,
                last_success_at=Cursor(before).last_success,
            )
        except BaseException:
            self.batch.discard()
            raise
        else:
            yield from self.batch.commit()
            outcome = self._outcome(
                business_id,
                LOADED,
                rows=done.rows,
                reread_rows=done.reread_rows,
                requests=self.client.sent(business_id, self.name) - requests,
                reread_requests=done.reread_requests,
                last_success_at=cursor.last_success,
            )
        report(outcome)
        yield from self.batch.add({OUTCOMES_TABLE: outcome.table()})

    def _outcome(self, business_id: str, status: str, **counts: Any) -> Outcome:
        return Outcome(business_id, self.name, self.options.run_started_at, status, **counts)


def sync_list(
    run: ResourceSync, endpoint: Endpoint, reader: PageReader, business_id: str, cursor: Cursor
) -> Generator[Any, None, Read]:
    """One business of a list resource: steps 1–4 of the module docstring (or one window of a
    first load in windows)."""
    options = run.options
    windowed = wanted(endpoint, options.window_rows, options.full_refresh, cursor.synced)
    if windowed and BACKFILL in cursor.slot:
        return (yield from _backfill(run, endpoint, reader, business_id, cursor))
    loaded_before = cursor.synced
    if options.full_refresh:
        cursor.reset()
    since = cursor.updated_since(options.overlap, options.start_date) if endpoint.incremental else None
    params: dict[str, Any] = {"attributes": "all", **endpoint.params}
    if since is not None:
        params["updated_or_created_since"] = since
    # A whole listing is also a sweep: rows it no longer has are gone (small lists every run; a
    # full refresh catches deletions an earlier run missed).
    sweeping = since is None and (endpoint.swept or loaded_before)
    listing = Listing(
        endpoint,
        business_id,
        reader,
        run.client,
        run.batch,
        loaded_before=loaded_before,
        listed_ids=[] if sweeping else None,
    )

    try:
        read = yield from read_listing(listing, params, most=options.window_rows if windowed else None)
    except ListTooLong as too_long:  # a first load too big for one go: in windows, from now
        filters = {"updated_or_created_since": since} if since is not None else {}
        rows = options.window_rows
        cursor.slot[BACKFILL] = plan(run.client, endpoint, business_id, filters, too_long, window_rows=rows)
        return (yield from _backfill(run, endpoint, reader, business_id, cursor))
    started = read.started or datetime.now(UTC)
    vouched = started  # how far the rows read can vouch for (see ``watermark``)
    if endpoint.incremental and read.pages > 1:
        vouched = (yield from _read_again(run, listing, params, read, started)) or vouched
    deleted = 0
    if endpoint.deleted_since and loaded_before:
        deleted = yield from _deletions(run, listing, cursor)
    swept = yield from _sweep(run, listing, cursor, started)
    cursor.finish(watermark(read, vouched, endpoint.name), started, swept)
    log.info(
        "%s · business %s: %d row(s) %s%s%s",
        endpoint.name,
        business_id,
        read.rows,
        f"changed since {since}" if since else "read in full",
        f", {read.reread_rows} read again (changed while paging)" if read.reread_rows else "",
        f", {deleted} deleted" if deleted else "",
    )
    return read


def _backfill(
    run: ResourceSync, endpoint: Endpoint, reader: PageReader, business_id: str, cursor: Cursor
) -> Generator[Any, None, Read]:
    """The next window of a first load in windows.

    No second read of rows changed while paging, no delete feed: the first incremental read after
    the last window starts from when the backfill began, which covers both."""
    filters: dict[str, Any] = {}
    start = cursor.updated_since(run.options.overlap, run.options.start_date)
    if start is not None:
        filters["updated_or_created_since"] = start
    backfill = Backfill(cursor.slot[BACKFILL])
    number, window = backfill.done + 1, backfill.next_window
    # Windows after the first may hold a row an earlier window loaded (its date moved): its child
    # lists are replaced, as in an incremental read.
    listing = Listing(endpoint, business_id, reader, run.client, run.batch, loaded_before=backfill.done > 0)
    params = {"attributes": "all", **endpoint.params, **filters, **window.params()}
    read = yield from read_listing(listing, params)
    if read.shrank:  # a row may have slipped past a page boundary: the same window again next pass
        log.warning("%s: rows were deleted while paging window %s; it is read again", endpoint.name, window)
    else:
        backfill.advance()
    log.info(
        "%s · business %s: window %d of %d (%s), %d row(s)",
        endpoint.name,
        business_id,
        number,
        len(backfill.windows),
        window,
        read.rows,
    )
    if backfill.finished:
        del cursor.slot[BACKFILL]
        # Every row changed, added or deleted since the backfill began is read next run.
        cursor.finish(backfill.started, backfill.started, None)
    return read


def _read_again(
    run: ResourceSync, listing: Listing, params: dict[str, Any], read: Read, started: datetime
) -> Generator[Any, None, datetime | None]:
    """Rows edited while the listing was paged: read them again now, so this run ends with their
    newest version rather than the next (one request when few rows changed). A listing of one
    page is one answer, with nothing between its pages to miss, so it is not read again.

    Adds to ``read``; returns when the second listing began (how far it vouches)."""
    name, business_id = listing.endpoint.name, listing.business_id
    sent = run.client.sent(business_id, name)
    again = yield from read_listing(
        listing, {**params, "updated_or_created_since": format_time(started)}, supersede=True
    )
    read.reread_rows = again.rows
    read.reread_requests = run.client.sent(business_id, name) - sent
    read.newest = max((t for t in (read.newest, again.newest) if t is not None), default=None)
    read.shrank = read.shrank or again.shrank
    return again.started


def _deletions(run: ResourceSync, listing: Listing, cursor: Cursor) -> Generator[Any, None, int]:
    """Tombstones from the delete feed since the last run (we re-ask the overlap); how many."""
    since = cursor.deleted_since(run.options.overlap)
    if since is None:
        return 0
    name, business_id = listing.endpoint.name, listing.business_id
    deleted = 0
    for ids, when in deleted_ids(name, business_id, since, run.client):
        deleted += len(ids)
        yield from run.batch.add({DELETIONS_TABLE: tombstones(business_id, name, ids, when)})
    return deleted


def _sweep(
    run: ResourceSync, listing: Listing, cursor: Cursor, started: datetime
) -> Generator[Any, None, datetime | None]:
    """The ids of a list without a delete feed, when due; returns when they were swept, if they were."""
    endpoint, business_id = listing.endpoint, listing.business_id
    if listing.listed_ids is not None:  # the listing read everything: it was the sweep
        yield from run.batch.add(
            {SWEEPS_TABLE: sweep(business_id, endpoint.name, listing.listed_ids, started)}
        )
        return started
    if not endpoint.swept:
        return None
    if not listing.loaded_before:
        return started  # the first load listed everything: the next sweep is due a cadence later
    if not cursor.sweep_due(started, run.options.id_sweep_every):
        return None
    swept, ids = listed_ids(endpoint.name, business_id, run.client)
    yield from run.batch.add({SWEEPS_TABLE: sweep(business_id, endpoint.name, ids, swept)})
    return swept


def watermark(read: Read, vouched: datetime, name: str) -> datetime | None:
    """How far this read can vouch for: never past the moment its last listing began.

    Sage pages by offset. A row edited while we page keeps its place or joins the listing; its
    new ``updated_at`` is after the listing began, so it is read again at once (``_read_again``),
    and capping the watermark at the start of that second listing has the next run read what was
    edited during it. A row deleted while we page shifts the rows after it one place back, so
    one unread row may slip past a page boundary: when ``$total`` shrank, the watermark stays
    where it was and the next run reads the same window again (merging what it already has).
    """
    if read.shrank:
        log.warning("%s: rows were deleted while paging; the same window is read again next run", name)
        return None
    return min(read.newest, vouched) if read.newest is not None else None


def sync_object(
    run: ResourceSync, reader: PageReader, business_id: str, cursor: Cursor
) -> Generator[Any, None, Read]:
    """One business of a one-object resource (``/financial_settings``): one request, one row."""
    response = run.client.get(run.name, None, business_id)
    read_at = server_moment(server_time(response))
    yield from run.batch.add({run.name: singleton_rows(reader, response.content, business_id, read_at)})
    cursor.finish(None, read_at, None)
    return Read(started=read_at, rows=1)
