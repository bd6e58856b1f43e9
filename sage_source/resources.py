"""The dlt resources: one per Sage list, each reading every selected business in turn.

A resource is named after its Sage endpoint and loads the table of that name (merge on
``business_id, id``), its child tables (``sales_invoices__invoice_lines``), the delete records
of :mod:`sage_source.deletions` and the outcome records of :mod:`sage_source.outcomes`. Two more
load one row per business: ``businesses`` and ``financial_settings``.

Each resource holds a lease on the connection's sockets while its generator runs (the last
one to finish, or to be closed by dlt when extraction fails, closes them: :mod:`sage_source.pool`).

This module only declares them to dlt. What one business of a resource reads, and when its
watermarks move, is :mod:`sage_source.sync`; how a listing is paged, :mod:`sage_source.listing`;
how rows are batched and held until a business is whole, :mod:`sage_source.batch`.

Rows are Arrow tables, gathered into batches of a few thousand rows: dlt's cost is per item,
and Arrow tables go to the warehouse as Parquet without a Python object per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from sage_source.batch import Batch
from sage_source.connection import SageConnection
from sage_source.pages import PageReader
from sage_source.rows import business_rows
from sage_source.settings import MERGE, Endpoint
from sage_source.sync import ResourceSync, SyncOptions, sync_list, sync_object
from sage_source.tables import BUSINESSES, FINANCIAL_SETTINGS, PARENT_KEY
from sage_source.watermarks import server_moment


def list_resource(
    endpoint: Endpoint,
    business_ids: list[str],
    connection: SageConnection,
    options: SyncOptions,
    append: bool = False,
) -> DltResource:
    """``append``: a first load of these businesses, with none of their keys in the destination
    (:mod:`sage_source.first_load`), lands by appending, in half the destination's time. Rows read
    twice within the run are dropped at the source (``FirstSighting``, ``Batch.supersede``), so
    nothing is appended twice."""
    reader = PageReader(endpoint.name, endpoint.children)

    @dlt.resource(name=endpoint.name, write_disposition=MERGE, primary_key=PARENT_KEY, parallelized=True)
    def rows() -> Iterator[Any]:
        batch = Batch(endpoint.name, options.batch_rows, append)
        run = ResourceSync(endpoint.name, connection.client, options, batch)
        with connection.lease():
            yield from run.each_business(business_ids, partial(sync_list, run, endpoint, reader))

    return rows


def financial_settings_resource(
    business_ids: list[str], connection: SageConnection, options: SyncOptions
) -> DltResource:
    reader = PageReader(FINANCIAL_SETTINGS)

    @dlt.resource(name=FINANCIAL_SETTINGS, write_disposition=MERGE, primary_key=PARENT_KEY)
    def financial_settings() -> Iterator[Any]:
        batch = Batch(FINANCIAL_SETTINGS, options.batch_rows, append=False)
        run = ResourceSync(FINANCIAL_SETTINGS, connection.client, options, batch)
        with connection.lease():
            yield from run.each_business(business_ids, partial(sync_object, run, reader))

    return financial_settings


def businesses_resource(business_ids: list[str], connection: SageConnection) -> DltResource:
    reader = PageReader(BUSINESSES)

    @dlt.resource(name=BUSINESSES, write_disposition=MERGE, primary_key=PARENT_KEY)
    def businesses() -> Iterator[pa.Table]:
        wanted = pa.array(business_ids, pa.string())
        with connection.lease():
            for fetched in connection.client.pages(BUSINESSES, {"attributes": "all"}, None, reader):
                yield business_rows(reader, fetched.page, wanted, server_moment(fetched.server_time))

    return businesses
