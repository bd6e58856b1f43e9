"""Turning stored rows into Sage's response bodies, as bytes.

List bodies are assembled from the stored JSON of each row without decoding it when all
attributes are asked for, so a page of 200 invoices costs a few block decompressions and a join.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

import numpy as np
import orjson

from sage_sandbox.books.business import iso
from sage_sandbox.catalog import Endpoint
from sage_sandbox.query import ListQuery
from sage_sandbox.store import Collection

BASE_ATTRIBUTES = ("id", "displayed_as", "$path")
# Stored artefacts end with this key (see sage_sandbox.books.artefacts), so it can be cut off
# the bytes when the client did not ask for payments and allocations.
_ALLOCATIONS_KEY = b',"payments_allocations":'


def envelope(endpoint: Endpoint, collection: Collection, positions: np.ndarray, query: ListQuery) -> bytes:
    """The ``$total/$page/$next/$back/$itemsPerPage/$items`` body of a list request."""
    total = len(positions)
    per_page = query.items_per_page
    last_page = max(1, math.ceil(total / per_page))
    page = min(query.page, last_page)  # past the end: Sage answers the last page
    chunk = positions[(page - 1) * per_page : page * per_page]
    if query.deleted_since is not None:
        items = tombstones(collection, chunk, query)
    else:
        items = rows(endpoint, collection, chunk, query)
    next_link = _link(endpoint.name, page + 1, query) if page < last_page else b"null"
    back_link = _link(endpoint.name, page - 1, query) if page > 1 else b"null"
    return b"".join(
        (
            b'{"$total":%d,"$page":%d,"$next":%s,"$back":%s,"$itemsPerPage":%d,"$items":['
            % (total, page, next_link, back_link, per_page),
            b",".join(items),
            b"]}",
        )
    )


def _link(name: str, page: int, query: ListQuery) -> bytes:
    """A page link as Sage writes it: relative, without ``/v3.1``, echoing the query."""
    params = [("page", str(page)), ("items_per_page", str(query.items_per_page)), *query.echo]
    return orjson.dumps(f"/{name}?{urlencode(params)}")


def rows(endpoint: Endpoint, collection: Collection, chunk: Iterable[int], query: ListQuery) -> list[bytes]:
    stored = collection.get_many_json(chunk)
    if query.all_attributes:
        if endpoint.has_payments_allocations and not query.show_payments_allocations:
            return [without_allocations(data) for data in stored]
        return stored
    wanted = query.attributes or ()
    return [select_attributes(data, wanted, query.show_payments_allocations) for data in stored]


def without_allocations(data: bytes) -> bytes:
    cut = data.rfind(_ALLOCATIONS_KEY)
    return data if cut < 0 else data[:cut] + b"}"


def select_attributes(data: bytes, wanted: Sequence[str], show_allocations: bool = False) -> bytes:
    """The base attributes plus those named (``attributes=date,due_date``), in stored order."""
    row = orjson.loads(data)
    keep = set(BASE_ATTRIBUTES) | set(wanted)
    if show_allocations and "payments_allocations" in row:
        keep.add("payments_allocations")
    return orjson.dumps({k: v for k, v in row.items() if k in keep})


def tombstones(collection: Collection, chunk: Iterable[int], query: ListQuery) -> list[bytes]:
    """Deleted rows in a ``deleted_since`` feed: their id, name, path and when they went."""
    out = []
    for data, position in zip(collection.get_many_json(chunk), chunk, strict=True):
        row = orjson.loads(data)
        item = {k: row.get(k) for k in BASE_ATTRIBUTES}
        if query.attributes:
            deleted_at = collection.deleted_at(int(position)) or 0
            item["deleted_at"] = iso(deleted_at)
        out.append(orjson.dumps(item))
    return out
