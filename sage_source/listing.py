"""Reading Sage's listings of one business: a list's pages, its delete feed, and its ids.

:func:`read_listing` pages through one listing (the rows changed since a watermark, or all of
them) into the batch: pages are fetched a few ahead of their parsing (``ahead``), parsed a few
megabytes at a time, rows that come twice dropped (:mod:`sage_source.seen_ids`), and the
``updated_at`` it reached kept for the watermark. :func:`deleted_ids` reads the delete feed
(``deleted_since``) and :func:`listed_ids` the ids alone, for lists without one. Which of them
a business reads, and what then moves the watermark, is :mod:`sage_source.sync`'s part.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import groupby
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sage_source.batch import Batch
from sage_source.client import RawPage, SageClient
from sage_source.models import TIMESTAMP
from sage_source.pages import Page, PageOrder, PageReader, page_total
from sage_source.readahead import ahead
from sage_source.rows import with_sync_columns
from sage_source.seen_ids import FirstSighting
from sage_source.settings import Endpoint
from sage_source.tables import DELETED_AT, ID, UPDATED_AT
from sage_source.watermarks import server_moment

PARSE_BYTES = 4 << 20  # pages parsed together (a page of 200 invoices is about 1 MB)
PAGES_AHEAD = 8  # pages fetched ahead of their parsing (``SageClient.raw_pages``' own default)
_TOMBSTONE_FIELDS = {ID: "text", DELETED_AT: "timestamp"}
_ID_FIELDS = {ID: "text"}


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


class ListTooLong(Exception):  # noqa: N818 (a finding, not a failure)
    """The listing holds more rows than the caller would read in one go (none were read)."""

    def __init__(self, total: int, started: datetime) -> None:
        super().__init__(f"{total} rows")
        self.total = total
        self.started = started  # the server's time of the listing's first page


@dataclass(frozen=True)
class Listing:
    """One business's list of one endpoint, and where its rows go."""

    endpoint: Endpoint
    business_id: str
    reader: PageReader
    client: SageClient
    batch: Batch
    loaded_before: bool  # rows may be in the destination: emptied child lists get markers
    listed_ids: list[pa.Array] | None = None  # when a sweep: the ids of every row read go here


def read_listing(
    listing: Listing, params: dict[str, Any], supersede: bool = False, most: int | None = None
) -> Generator[Any, None, Read]:
    """Every page of one listing into the batch; with ``supersede``, its rows replace copies
    of the same rows read earlier in this run (with their child rows). With ``most``: when the
    first page says the listing holds more rows than that, :class:`ListTooLong` is raised before
    any row reaches the batch (the pages fetched ahead meanwhile, a few, are dropped)."""
    endpoint, business_id, reader, batch = (
        listing.endpoint,
        listing.business_id,
        listing.reader,
        listing.batch,
    )
    read = Read()
    order = PageOrder(endpoint.name)
    sighting = FirstSighting()
    totals: list[int] = []
    if most is None:
        fetched = listing.client.raw_pages(endpoint.name, params, business_id)
    else:  # the first page alone, then the others fetched ahead: none is asked for in vain
        first_alone = listing.client.raw_pages(endpoint.name, params, business_id, read_ahead=0)
        fetched = ahead(_at_most(first_alone, most), PAGES_AHEAD, name=f"sage-{endpoint.name}")
    parsed = ahead(_parsed(fetched, reader), depth=2)
    with closing(parsed):
        for raws, pages in parsed:
            read_at = server_moment(raws[-1].server_time)
            read.started = read.started or server_moment(raws[0].server_time)
            read.pages += len(raws)
            for page in pages:
                order.check(page)
                totals.append(page.total)
            for _, group in groupby(pages, key=lambda page: page.fast):
                page = sighting.unseen(PageReader.merge(list(group)))
                tables = reader.tables(page, business_id, replaces=listing.loaded_before)
                parent = with_sync_columns(tables[endpoint.name], read_at)
                tables[endpoint.name] = parent
                read.newest = _latest(read.newest, parent)
                read.rows += len(parent)
                if supersede:
                    batch.supersede(parent.column(ID))
                if listing.listed_ids is not None:
                    listing.listed_ids.append(parent.column(ID).combine_chunks())
                yield from batch.add(tables)
    read.shrank = bool(totals) and totals[-1] < totals[0]
    return read


def _at_most(raws: Iterator[RawPage], most: int) -> Iterator[RawPage]:
    """The pages, unless the first says there are more than ``most`` rows (``ListTooLong``)."""
    first = next(raws, None)
    if first is None:
        return
    total = page_total(first.body)
    if total is not None and total > most:
        raise ListTooLong(total, server_moment(first.server_time))
    yield first
    yield from raws


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


def _latest(newest: datetime | None, parent: pa.Table) -> datetime | None:
    if UPDATED_AT not in parent.column_names or not len(parent):
        return newest
    page_max = pc.max(parent.column(UPDATED_AT)).as_py()
    if page_max is None:
        return newest
    return page_max if newest is None or page_max > newest else newest


def deleted_ids(
    endpoint: str, business_id: str, since: str, client: SageClient
) -> Iterator[tuple[pa.Array, pa.Array]]:
    """Ids and deletion times from Sage's delete feed since ``since`` (exclusive)."""
    params = {"deleted_since": since, "attributes": DELETED_AT}
    for fetched in client.pages(endpoint, params, business_id, _reader(endpoint, "tombstones")):
        items = fetched.page.items
        if not len(items):
            continue
        when = pc.cast(items.column(DELETED_AT), TIMESTAMP)
        when = pc.fill_null(when, pa.scalar(server_moment(fetched.server_time), TIMESTAMP))
        yield items.column(ID).combine_chunks(), when.combine_chunks()


def listed_ids(endpoint: str, business_id: str, client: SageClient) -> tuple[datetime, list[pa.Array]]:
    """Every id Sage lists now (the default attributes: no more than id, name and path), and
    the server's time when the listing began."""
    ids: list[pa.Array] = []
    began: datetime | None = None
    for fetched in client.pages(endpoint, {}, business_id, _reader(endpoint, "ids")):
        began = began or server_moment(fetched.server_time)
        ids.append(fetched.page.items.column(ID).combine_chunks())
    return began or datetime.now(UTC), ids


@cache
def _reader(endpoint: str, kind: str) -> PageReader:
    return PageReader(endpoint, fields=_TOMBSTONE_FIELDS if kind == "tombstones" else _ID_FIELDS)
