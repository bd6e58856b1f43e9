"""Paging as Sage documents it: the envelope, ``$next``/``$back``, page size limits, past-the-end."""

from __future__ import annotations

import math
from urllib.parse import parse_qsl, urlsplit

import pytest

from testkit.sage_http import Api


def test_pages_concatenate_to_every_row_exactly_once(api: Api) -> None:
    pages = api.pages("ledger_entries", items_per_page=7, attributes="all")
    total = pages[0]["$total"]
    ids = [row["id"] for page in pages for row in page["$items"]]
    assert len(ids) == total == len(set(ids))
    assert len(pages) == math.ceil(total / 7)
    assert [p["$page"] for p in pages] == list(range(1, len(pages) + 1))
    assert all(p["$itemsPerPage"] == 7 for p in pages)


def test_next_and_back_are_relative_and_echo_the_query(api: Api) -> None:
    first = api.ok("/sales_invoices", items_per_page=5, attributes="date", sort="date:asc")
    assert first["$back"] is None
    link = urlsplit(first["$next"])
    assert link.path == "/sales_invoices"  # no /v3.1: the client must join it to the API base
    assert parse_qsl(link.query) == [
        ("page", "2"),
        ("items_per_page", "5"),
        ("attributes", "date"),
        ("sort", "date:asc"),
    ]
    second = api.http.get(first["$next"]).json()
    assert urlsplit(second["$back"]).query.startswith("page=1&items_per_page=5")


def test_default_page_size_is_20(api: Api) -> None:
    body = api.ok("/ledger_entries")
    assert body["$itemsPerPage"] == 20
    assert len(body["$items"]) == 20
    assert body["$next"] == "/ledger_entries?page=2&items_per_page=20"


def test_a_page_past_the_end_returns_the_last_page(api: Api) -> None:
    total = api.ok("/contacts", items_per_page=3)["$total"]
    last = math.ceil(total / 3)
    beyond = api.ok("/contacts", items_per_page=3, page=last + 10)
    exact = api.ok("/contacts", items_per_page=3, page=last)
    assert beyond["$page"] == last
    assert beyond["$items"] == exact["$items"]
    assert beyond["$next"] is None


def test_an_exact_multiple_ends_without_a_dangling_empty_page(api: Api) -> None:
    total = api.ok("/ledger_accounts")["$total"]
    size = next(n for n in range(2, 20) if total % n == 0)
    pages = api.pages("ledger_accounts", items_per_page=size)
    assert len(pages) == total // size
    assert pages[-1]["$next"] is None and len(pages[-1]["$items"]) == size


def test_an_empty_result_is_one_page_with_no_links(api: Api) -> None:
    body = api.ok("/sales_invoices", from_date="1990-01-01", to_date="1990-01-31")
    assert body == {"$total": 0, "$page": 1, "$next": None, "$back": None, "$itemsPerPage": 20, "$items": []}


@pytest.mark.parametrize(
    ("params", "source"),
    [
        ({"items_per_page": 201}, "items_per_page"),
        ({"items_per_page": 0}, "items_per_page"),
        ({"items_per_page": "ten"}, "items_per_page"),
        ({"page": 0}, "page"),
        ({"page": "-1"}, "page"),
        ({"sort": "total_amount"}, "sort"),
        ({"sort": "date:sideways"}, "sort"),
    ],
)
def test_bad_paging_parameters_get_a_sage_400(api: Api, params: dict[str, str | int], source: str) -> None:
    response = api.http.get("/sales_invoices", params=params)
    assert response.status_code == 400
    (error,) = response.json()
    assert error["$dataCode"] == "InvalidParameter" and error["$source"] == source


def test_200_is_the_largest_page(api: Api) -> None:
    body = api.ok("/ledger_entries", items_per_page=200)
    assert len(body["$items"]) == 200 and body["$itemsPerPage"] == 200


@pytest.mark.parametrize("attribute", ["created_at", "updated_at", "date", "due_date"])
def test_sort_orders_ascending_and_descending(api: Api, attribute: str) -> None:
    ascending = [
        r[attribute]
        for r in api.all_items("sales_invoices", attributes=attribute, sort=attribute, items_per_page=200)
    ]
    descending = [
        r[attribute]
        for r in api.all_items(
            "sales_invoices", attributes=attribute, sort=f"{attribute}:desc", items_per_page=200
        )
    ]
    assert ascending == sorted(ascending)
    assert descending == sorted(descending, reverse=True)
    assert len(ascending) == api.ok("/sales_invoices")["$total"]
