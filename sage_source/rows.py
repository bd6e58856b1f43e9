"""Parent rows as they are loaded: the columns the source adds to what Sage sent.

Every parent table carries ``_sage_synced_at`` (the server's time when the row was read: a sweep
marks a row deleted only if it was read before the sweep began, :mod:`sage_source.deletions`).
A list's rows also carry ``is_deleted``/``deleted_at``, set here from Sage's ``deleted`` flag
where rows have one, and by :func:`sage_source.deletions.apply_deletions` after the load
otherwise. The two one-row-per-business tables (``businesses``, ``financial_settings``) are shaped
here too, with the same types and casts as the lists.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from sage_source.models import TIMESTAMP, keys_required
from sage_source.pages import Page, PageReader
from sage_source.tables import BUSINESS_ID, DELETED, DELETED_AT, ID, IS_DELETED, SYNCED_AT, UPDATED_AT


def with_sync_columns(parent: pa.Table, read_at: datetime) -> pa.Table:
    """``is_deleted``/``deleted_at`` (from Sage's ``deleted`` flag where rows carry one) and when read."""
    rows = len(parent)
    names = parent.column_names
    if DELETED in names:
        flagged = pc.fill_null(parent.column(DELETED), False)
        is_deleted = flagged
        stamp = pc.if_else(flagged, parent.column(UPDATED_AT), pa.scalar(None, TIMESTAMP))
        deleted_at = stamp if DELETED_AT not in names else pc.coalesce(parent.column(DELETED_AT), stamp)
    else:
        is_deleted = pa.array([False] * rows, pa.bool_())
        deleted_at = parent.column(DELETED_AT) if DELETED_AT in names else pa.nulls(rows, TIMESTAMP)
    parent = parent.drop_columns([c for c in (IS_DELETED, DELETED_AT) if c in names])
    return (
        parent.append_column(IS_DELETED, is_deleted)
        .append_column(DELETED_AT, deleted_at)
        .append_column(SYNCED_AT, pa.array([read_at] * rows, TIMESTAMP))
    )


def singleton_rows(reader: PageReader, body: bytes, business_id: str, read_at: datetime) -> pa.Table:
    """One object (``/financial_settings``) read as a one-row page: same types and casts as lists."""
    page = reader.read(b'{"$total":1,"$page":1,"$next":null,"$items":[' + body + b"]}")
    table = reader.tables(page, business_id)[reader.endpoint]
    if ID not in table.column_names:  # every parent table has an id; one per business here
        table = table.append_column(ID, pa.array([business_id] * len(table), pa.string()))
    return keys_required(table.append_column(SYNCED_AT, pa.array([read_at] * len(table), TIMESTAMP)))


def business_rows(reader: PageReader, page: Page, wanted: pa.Array, read_at: datetime) -> pa.Table:
    """The rows of ``page`` (of ``/businesses``) whose id is ``wanted``; a business is its own business."""
    mine = replace(page, items=page.items.filter(pc.is_in(page.items.column(ID), wanted)))
    table = reader.tables(mine, "")[reader.endpoint]
    table = table.set_column(table.column_names.index(BUSINESS_ID), BUSINESS_ID, table.column(ID))
    return keys_required(table.append_column(SYNCED_AT, pa.array([read_at] * len(table), TIMESTAMP)))
