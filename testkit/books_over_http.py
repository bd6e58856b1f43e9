"""Fetch a business's whole books over HTTP, as a client would see them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sage_sandbox.catalog import ENDPOINTS
from testkit.sage_http import Api

Books = dict[str, list[dict[str, Any]]]


def fetch_books(api: Api, business: str, unavailable: Collection[str] = ()) -> Books:
    """Every list but those the business does not offer (left out, as the audit expects)."""
    books: Books = {}
    for name, endpoint in ENDPOINTS.items():
        if name in unavailable:
            continue
        params: dict[str, Any] = {"attributes": "all", "items_per_page": 200}
        if endpoint.has_payments_allocations:
            params["show_payments_allocations"] = "true"
        books[name] = api.all_items(name, business, **params)
    books["financial_settings"] = [api.ok("/financial_settings", business)]
    books["businesses"] = [api.ok(f"/businesses/{business}")]
    return books
