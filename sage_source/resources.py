"""The dlt resources: one per Sage list, each reading every selected business in turn.

A resource is named after its Sage endpoint and loads the table of that name (merge on
``business_id, id``), its child tables (``sales_invoices__invoice_lines``), and the delete
records of :mod:`sage_source.deletions`. Per business it:

1. reads what changed since the watermark (``updated_or_created_since``), or the whole list for
   small lists and those whose values change without ``updated_at`` moving (bank balances);
2. asks the delete feed (``deleted_since``) what went since the last run, where there is one;
3. lists the ids (nothing else) of lists without a delete feed, every ``id_sweep_days``;
4. moves the watermarks (:mod:`sage_source.watermarks`) only after all of that succeeded.

Rows are Arrow tables, gathered into batches of a few thousand rows: dlt's cost is per item,
and Arrow tables go to the warehouse as Parquet without a Python object per row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from hashlib import blake2b
from itertools import groupby
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.resource import DltResource

from sage_source.batch import Batch
from sage_source.client import RawPage, SageClient, server_time
from sage_source.deletions import sweep, tombstones
from sage_source.models import TIMESTAMP, keys_required
from sage_source.outcomes import LOADED, UNIT_ERRORS, Outcome, report, unit_failure
from sage_source.pages import Page, PageOrder, PageReader
from sage_source.readahead import ahead
from sage_source.settings import BATCH_ROWS, DELETIONS_TABLE, MERGE, OUTCOMES_TABLE, SWEEPS_TABLE, Endpoint
from sage_source.watermarks import Cursor, format_time

log = logging.getLogger("sage_source")
SYNCED_AT = "_sage_synced_at"  # the server's time when the row was read (dates id sweeps)
PARSE_BYTES = 4 << 20  # pages parsed together (a page of 200 invoices is about 1 MB)
_TOMBSTONE_FIELDS = {"id": "text", "deleted_at": "timestamp"}
_ID_FIELDS = {"id": "text"}


@dataclass(frozen=True)
class SyncOptions:
    overlap: timedelta
    start_date: datetime | None
    id_sweep_every: timedelta
    full_refresh: bool = False
    batch_rows: int = BATCH_ROWS
    run_started_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # keys the outcomes
    business_names: Mapping[str, str] = field(default_factory=dict)  # for messages

    def business(self, business_id: str) -> str:
        name = self.business_names.get(business_id)
        return f"{name!r} ({business_id})" if name else business_id


def list_resource(
    endpoint: Endpoint,
    business_ids: list[str],
    client: SageClient,
    options: SyncOptions,
    append: bool = False,
) -> DltResource:
    """``append``: a first load of these businesses, with none of their keys in the destination
    (:mod:`sage_source.first_load`), lands by appending, in half the destination's time. Rows read
    twice within the run are dropped at the source (``FirstSighting``, ``Batch.supersede``), so
    nothing is appended twice."""
    reader = PageReader(endpoint.name, endpoint.children)

    @dlt.resource(
        name=endpoint.name, write_disposition=MERGE, primary_key=("business_id", "id"), parallelized=True
    )
    def rows() -> Iterator[Any]:
        state = dlt.current.resource_state()
        # One batch across businesses: rows carry business_id, and dlt's cost is per item.
        batch = Batch(endpoint.name, options.batch_rows, append=append)
        for business_id in business_ids:
            cursor = Cursor(state.setdefault(business_id, {}))
            sync = partial(_sync, endpoint, business_id, cursor, reader, client, options, batch)
            yield from guarded(endpoint.name, business_id, cursor, client, options, batch, sync)
        yield from batch.flush()

    return rows


def guarded(
    resource: str,
    business_id: str,
    cursor: Cursor,
    client: SageClient,
    options: SyncOptions,
    batch: Batch,
    sync: Callable[[], Generator[Any, None, Read]],
) -> Iterator[Any]:
    """One business × resource, whole or not at all; its outcome recorded either way.

    Its rows are held (``Batch.open``) until the read succeeded. If Sage refuses it, does not
    offer it, or it fails after the retries, its rows are dropped, its watermark put back as it
    was, and the other businesses and resources go on (:mod:`sage_source.outcomes`).
    """
    before = dict(cursor.slot)
    requests = client.sent(business_id, resource)
    batch.open()
    try:
        read = yield from sync()
    except UNIT_ERRORS as error:
        batch.discard()
        cursor.slot.clear()
        cursor.slot.update(before)
        status, http_status, message = unit_failure(error, options.business(business_id), resource)
        outcome = Outcome(
            business_id,
            resource,
            options.run_started_at,
            status,
            http_status=http_status,
            message=message,
            requests=client.sent(business_id, resource) - requests,
            last_success_at=Cursor(before).last_success,
        )
    except BaseException:
        batch.discard()
        raise
    else:
        yield from batch.commit()
        outcome = Outcome(
            business_id,
            resource,
            options.run_started_at,
            LOADED,
            rows=read.rows,
            reread_rows=read.reread_rows,
            requests=client.sent(business_id, resource) - requests,
            reread_requests=read.reread_requests,
            last_success_at=cursor.last_success,
        )
    report(outcome)
    yield from batch.add({OUTCOMES_TABLE: outcome.table()})


@dataclass
class Read:
    """What one listing (or one business × resource) read."""

    started: datetime | None = None  # the server's time when its first page was answered
    newest: datetime | None = None  # the newest ``updated_at`` among its rows
    rows: int = 0
    pages: int = 0
    shrank: bool = False  # ``$total`` went down while paging: a row may have slipped past a page
    reread_rows: int = 0
    reread_requests: int = 0


def _sync(
    endpoint: Endpoint,
    business_id: str,
    cursor: Cursor,
    reader: PageReader,
    client: SageClient,
    options: SyncOptions,
    batch: Batch,
) -> Generator[Any, None, Read]:
    loaded_before = cursor.synced
    if options.full_refresh:
        cursor.reset()
    since = cursor.updated_since(options.overlap, options.start_date) if endpoint.incremental else None
    params: dict[str, Any] = {"attributes": "all", **endpoint.params}
    if since is not None:
        params["updated_or_created_since"] = since
    # A whole listing is also a sweep: rows it no longer has are gone (small lists every run; a
    # full refresh catches deletions an earlier run missed).
    listed_ids: list[pa.Array] | None = [] if since is None and (endpoint.swept or loaded_before) else None

    read = yield from _listing(
        endpoint, business_id, params, reader, client, batch, loaded_before, listed_ids
    )
    started = read.started or datetime.now(UTC)
    vouched = started  # how far the rows read can vouch for (see ``_watermark``)
    if endpoint.incremental and read.pages > 1:
        # Rows edited while the listing was paged: read them again now, so this run ends with
        # their newest version rather than the next (one request when few rows changed). A
        # listing of one page is one answer, with nothing between its pages to miss.
        sent = client.sent(business_id, endpoint.name)
        again = yield from _listing(
            endpoint,
            business_id,
            {**params, "updated_or_created_since": format_time(started)},
            reader,
            client,
            batch,
            loaded_before,
            listed_ids,
            supersede=True,
        )
        read.reread_rows = again.rows
        read.reread_requests = client.sent(business_id, endpoint.name) - sent
        read.newest = max((t for t in (read.newest, again.newest) if t is not None), default=None)
        read.shrank = read.shrank or again.shrank
        vouched = again.started or vouched

    deleted = 0
    if endpoint.deleted_since and loaded_before:
        for ids, when in _deleted(endpoint, business_id, cursor, client, options):
            deleted += len(ids)
            yield from batch.add({DELETIONS_TABLE: tombstones(business_id, endpoint.name, ids, when)})

    swept: datetime | None = None
    if listed_ids is not None:
        swept = started
        yield from batch.add({SWEEPS_TABLE: sweep(business_id, endpoint.name, listed_ids, swept)})
    elif endpoint.swept and loaded_before and cursor.sweep_due(started, options.id_sweep_every):
        swept, ids = _list_ids(endpoint, business_id, client)
        yield from batch.add({SWEEPS_TABLE: sweep(business_id, endpoint.name, ids, swept)})
    if swept is None and endpoint.swept and not loaded_before:
        swept = started  # the first load listed everything: the next sweep is due a cadence later
    cursor.finish(_watermark(read, vouched, endpoint.name), started, swept)
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


def _listing(
    endpoint: Endpoint,
    business_id: str,
    params: dict[str, Any],
    reader: PageReader,
    client: SageClient,
    batch: Batch,
    loaded_before: bool,
    listed_ids: list[pa.Array] | None,
    supersede: bool = False,
) -> Generator[Any, None, Read]:
    """Every page of one listing into the batch; with ``supersede``, its rows replace copies
    of the same rows read earlier in this run (with their child rows)."""
    read = Read()
    order = PageOrder(endpoint.name)
    sighting = FirstSighting()
    totals: list[int] = []
    parsed = ahead(_parsed(client.raw_pages(endpoint.name, params, business_id), reader), depth=2)
    with closing(parsed):
        for raws, pages in parsed:
            read_at = _moment(raws[-1].server_time)
            read.started = read.started or _moment(raws[0].server_time)
            read.pages += len(raws)
            for page in pages:
                order.check(page)
                totals.append(page.total)
            for _, group in groupby(pages, key=lambda page: page.fast):
                page = sighting.unseen(PageReader.merge(list(group)))
                tables = reader.tables(page, business_id, replaces=loaded_before)
                parent = with_sync_columns(tables[endpoint.name], read_at)
                tables[endpoint.name] = parent
                read.newest = _latest(read.newest, parent)
                read.rows += len(parent)
                if supersede:
                    batch.supersede(parent.column("id"))
                if listed_ids is not None:
                    listed_ids.append(parent.column("id").combine_chunks())
                yield from batch.add(tables)
    read.shrank = bool(totals) and totals[-1] < totals[0]
    return read


def _parsed(raws: Iterator[RawPage], reader: PageReader) -> Iterator[tuple[list[RawPage], list[Page]]]:
    """Pages parsed a few megabytes at a time (one parse for several pages is cheaper).

    Run in its own thread (``ahead``): Arrow parses without holding the GIL, so parsing these
    pages overlaps fetching the next ones and handing the last ones to dlt.
    """
    group: list[RawPage] = []
    size = 0
    for raw in raws:
        group.append(raw)
        size += len(raw.body)
        if size >= PARSE_BYTES:
            yield group, reader.read_many([r.body for r in group])
            group, size = [], 0
    if group:
        yield group, reader.read_many([r.body for r in group])


def _deleted(
    endpoint: Endpoint, business_id: str, cursor: Cursor, client: SageClient, options: SyncOptions
) -> Iterator[tuple[pa.Array, pa.Array]]:
    """Ids and deletion times from Sage's delete feed (exclusive; we re-ask the overlap)."""
    since = cursor.deleted_since(options.overlap)
    if since is None:
        return
    params = {"deleted_since": since, "attributes": "deleted_at"}
    for fetched in client.pages(endpoint.name, params, business_id, _reader(endpoint.name, "tombstones")):
        items = fetched.page.items
        if not len(items):
            continue
        when = pc.cast(items.column("deleted_at"), TIMESTAMP)
        when = pc.fill_null(when, pa.scalar(_moment(fetched.server_time), TIMESTAMP))
        yield items.column("id").combine_chunks(), when.combine_chunks()


def _list_ids(endpoint: Endpoint, business_id: str, client: SageClient) -> tuple[datetime, list[pa.Array]]:
    """Every id Sage lists now (the default attributes: no more than id, name and path)."""
    ids: list[pa.Array] = []
    began: datetime | None = None
    for fetched in client.pages(endpoint.name, {}, business_id, _reader(endpoint.name, "ids")):
        began = began or _moment(fetched.server_time)
        ids.append(fetched.page.items.column("id").combine_chunks())
    return began or datetime.now(UTC), ids


@cache
def _reader(endpoint: str, kind: str) -> PageReader:
    return PageReader(endpoint, fields=_TOMBSTONE_FIELDS if kind == "tombstones" else _ID_FIELDS)


def with_sync_columns(parent: pa.Table, read_at: datetime) -> pa.Table:
    """``is_deleted``/``deleted_at`` (from Sage's ``deleted`` flag where rows carry one) and when read."""
    rows = len(parent)
    names = parent.column_names
    if "deleted" in names:
        flagged = pc.fill_null(parent.column("deleted"), False)
        is_deleted = flagged
        stamp = pc.if_else(flagged, parent.column("updated_at"), pa.scalar(None, TIMESTAMP))
        deleted_at = stamp if "deleted_at" not in names else pc.coalesce(parent.column("deleted_at"), stamp)
    else:
        is_deleted = pa.array([False] * rows, pa.bool_())
        deleted_at = parent.column("deleted_at") if "deleted_at" in names else pa.nulls(rows, TIMESTAMP)
    parent = parent.drop_columns([c for c in ("is_deleted", "deleted_at") if c in names])
    return (
        parent.append_column("is_deleted", is_deleted)
        .append_column("deleted_at", deleted_at)
        .append_column(SYNCED_AT, pa.array([read_at] * rows, TIMESTAMP))
    )


def _watermark(read: Read, vouched: datetime, name: str) -> datetime | None:
    """How far this read can vouch for: never past the moment its last listing began.

    Sage pages by offset. A row edited while we page keeps its place or joins the listing; its
    new ``updated_at`` is after the listing began, so it is read again at once (``_sync``), and
    capping the watermark at the start of that second listing has the next run read what was
    edited during it. A row deleted while we page shifts the rows after it one place back, so
    one unread row may slip past a page boundary: when ``$total`` shrank, the watermark stays
    where it was and the next run reads the same window again (merging what it already has).
    """
    if read.shrank:
        log.warning("%s: rows were deleted while paging; the same window is read again next run", name)
        return None
    return min(read.newest, vouched) if read.newest is not None else None


def _latest(newest: datetime | None, parent: pa.Table) -> datetime | None:
    if "updated_at" not in parent.column_names or not len(parent):
        return newest
    page_max = pc.max(parent.column("updated_at")).as_py()
    if page_max is None:
        return newest
    return page_max if newest is None or page_max > newest else newest


def _moment(server_time: float | None) -> datetime:
    return datetime.fromtimestamp(server_time, UTC) if server_time is not None else datetime.now(UTC)


class FirstSighting:
    """Keeps the first copy of each row a listing returns.

    Sage pages by offset, so a row inserted or deleted ahead of the reader while it pages moves
    the rows behind it by one place, and a row can come twice (at the end of one page and the
    start of the next). The first copy is kept: if the row was edited in between, its new
    ``updated_at`` is after the listing began, which the watermark never passes, so the next
    run reads the newer version.

    A million ids as Python strings in a set take over 100 MB, so ids are kept as 16-byte keys
    in sorted NumPy runs (16 MB a million): Sage's ids (32 hex digits) are their own key; any
    other id is keyed by its 128-bit BLAKE2 digest, as unlikely to collide as two UUIDs.
    """

    RUN_KEYS = 1 << 17  # 2 MB a run: a million ids are eight runs and a few small ones

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []  # sorted, disjoint

    def unseen(self, page: Page) -> Page:
        keys = _keys(page.items.column("id"))
        keep = np.zeros(len(keys), dtype=bool)
        keep[np.unique(keys, return_index=True)[1]] = True  # twice in this page: the first
        for run in self._runs:
            at = np.searchsorted(run, keys).clip(max=len(run) - 1)
            keep &= run[at] != keys
        self._add(np.sort(keys[keep]))
        if keep.all():
            return page
        log.info(
            "%d row(s) came twice while paging (rows moved under the reader); kept the first", (~keep).sum()
        )
        return replace(page, items=page.items.filter(pa.array(keep)))

    def _add(self, run: np.ndarray) -> None:
        """Merge like a binary counter (each id is re-sorted O(log n) times), up to runs of
        ``RUN_KEYS``: merging bigger ones would briefly hold every key three times over."""
        self._runs.append(run)
        while (
            len(self._runs) > 1
            and len(self._runs[-2]) <= 2 * len(self._runs[-1])
            and len(self._runs[-2]) + len(self._runs[-1]) <= self.RUN_KEYS
        ):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(np.sort(np.concatenate([older, newer])))


def _keys(ids: pa.ChunkedArray) -> np.ndarray:
    texts: list[str] = ids.to_pylist()
    if texts and pc.min_max(pc.utf8_length(ids)).as_py() == {"min": 32, "max": 32}:
        try:
            return np.frombuffer(bytes.fromhex("".join(texts)), dtype="S16")
        except ValueError:
            pass  # not hexadecimal after all
    return np.array([blake2b(text.encode(), digest_size=16).digest() for text in texts], dtype="S16")


def singleton_rows(reader: PageReader, body: bytes, business_id: str, read_at: datetime) -> pa.Table:
    """One object (``/financial_settings``) read as a one-row page: same types and casts as lists."""
    page = reader.read(b'{"$total":1,"$page":1,"$next":null,"$items":[' + body + b"]}")
    table = reader.tables(page, business_id)[reader.endpoint]
    if "id" not in table.column_names:  # every parent table has an id; one per business here
        table = table.append_column("id", pa.array([business_id] * len(table), pa.string()))
    return keys_required(table.append_column(SYNCED_AT, pa.array([read_at] * len(table), TIMESTAMP)))


def financial_settings_resource(
    business_ids: list[str], client: SageClient, options: SyncOptions
) -> DltResource:
    reader = PageReader("financial_settings")

    def read_one(business_id: str, cursor: Cursor, batch: Batch) -> Generator[Any, None, Read]:
        response = client.get("financial_settings", None, business_id)
        read_at = _moment(server_time(response))
        row = singleton_rows(reader, response.content, business_id, read_at)
        yield from batch.add({"financial_settings": row})
        cursor.finish(None, read_at, None)
        return Read(started=read_at, rows=1)

    @dlt.resource(name="financial_settings", write_disposition=MERGE, primary_key=("business_id", "id"))
    def financial_settings() -> Iterator[Any]:
        state = dlt.current.resource_state()
        batch = Batch("financial_settings", options.batch_rows, append=False)
        for business_id in business_ids:
            cursor = Cursor(state.setdefault(business_id, {}))
            sync = partial(read_one, business_id, cursor, batch)
            yield from guarded("financial_settings", business_id, cursor, client, options, batch, sync)
        yield from batch.flush()

    return financial_settings


def businesses_resource(business_ids: list[str], client: SageClient) -> DltResource:
    reader = PageReader("businesses")

    @dlt.resource(name="businesses", write_disposition=MERGE, primary_key=("business_id", "id"))
    def businesses() -> Iterator[pa.Table]:
        wanted = pa.array(business_ids, pa.string())
        for fetched in client.pages("businesses", {"attributes": "all"}, None, reader):
            page = fetched.page
            mine = replace(page, items=page.items.filter(pc.is_in(page.items.column("id"), wanted)))
            table = reader.tables(mine, "")["businesses"]
            table = table.set_column(
                table.column_names.index("business_id"), "business_id", table.column("id")
            )
            read_at = pa.array([_moment(fetched.server_time)] * len(table), TIMESTAMP)
            yield keys_required(table.append_column(SYNCED_AT, read_at))

    return businesses
