"""Every body the sandbox sends validates against Sage's own swagger definitions.

Walked for every served endpoint of every business: every page of every list with all
attributes and payments/allocations, the base-attribute listing, one item per endpoint, the
singletons, users and businesses, the ``deleted_since`` feeds and the error bodies.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sage_sandbox import SandboxServer
from sage_sandbox.catalog import ENDPOINTS, SINGLETONS
from testkit.openapi import openapi_dir
from testkit.sage_http import Api, login
from testkit.swagger_schema import (
    BUSINESSES_ENVELOPE,
    ENVELOPE,
    SAGE_ERROR,
    assert_valid,
    problems,
    validator,
)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_every_row_of_every_list_matches_its_model(api: Api, name: str) -> None:
    endpoint = ENDPOINTS[name]
    item_schema = validator(openapi_dir(), endpoint.model)
    params = {"attributes": "all", "items_per_page": 200}
    if endpoint.has_payments_allocations:
        params["show_payments_allocations"] = "true"
    for business in api.ok("/businesses")["$items"]:
        pages = api.pages(name, business["id"], **params)
        assert sum(len(p["$items"]) for p in pages) == pages[0]["$total"]
        for page in pages:
            assert_valid(ENVELOPE, page, f"/{name} envelope")
            for row in page["$items"]:
                found = problems(item_schema, row)
                assert not found, f"/{name} {row.get('id')} breaks {endpoint.model}:\n" + "\n".join(found)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_base_listing_and_one_item_match_the_model(api: Api, name: str) -> None:
    endpoint = ENDPOINTS[name]
    body = api.ok(f"/{name}")
    assert_valid(ENVELOPE, body, f"/{name} envelope")
    for row in body["$items"]:
        assert set(row) == {"id", "displayed_as", "$path"}, f"/{name} without attributes sent {sorted(row)}"
        assert_valid(endpoint.model, row, f"/{name} base row")
    if body["$items"]:
        key = body["$items"][0]["id"]
        item = api.ok(f"/{name}/{key}", mark_as_sent="false")
        assert_valid(endpoint.model, item, f"/{name}/{{key}}")


def test_singletons_users_and_businesses_match(api: Api) -> None:
    for name, model in SINGLETONS.items():
        assert_valid(model, api.ok(f"/{name}"), f"/{name}")
    assert_valid("UB_User", api.ok("/user"), "/user")
    listing = api.ok("/businesses")
    assert_valid(BUSINESSES_ENVELOPE, listing, "/businesses envelope")
    for business in listing["$items"]:
        assert_valid("UB_Business", business, "/businesses item")
        assert_valid("UB_Business", api.ok(f"/businesses/{business['id']}"), "/businesses/{key}")
    assert_valid("UB_Business", api.ok("/businesses/lead"), "/businesses/lead")


def test_deleted_since_feeds_match(fresh_server: Callable[..., SandboxServer]) -> None:
    server = fresh_server()
    server.sandbox.advance(20)  # hard deletes happen as time moves
    client = Api(server.urls, login(server.urls)["access_token"])
    seen = 0
    for name, endpoint in ENDPOINTS.items():
        if not endpoint.has_deleted_since:
            continue
        for business in server.sandbox.business_ids:
            body = client.ok(f"/{name}", business, deleted_since="2000-01-01", attributes="all")
            assert_valid(ENVELOPE, body, f"/{name}?deleted_since envelope")
            for row in body["$items"]:
                assert_valid(endpoint.model, row, f"/{name}?deleted_since row")
                seen += 1
    assert seen > 0, "advancing 20 days deleted nothing, so the feeds were not exercised"


def test_error_bodies_match_sages_error_shape(api: Api) -> None:
    for response in (
        api.get("/sales_invoices", items_per_page=201),
        api.get("/sales_invoices", updated_or_created_since="yesterday"),
        api.get("/sales_invoices/0123456789abcdef0123456789abcdef"),
        api.get("/sales_invoices", business="not-a-business"),
        api.get("/no_such_endpoint"),
    ):
        assert 400 <= response.status_code < 500
        assert_valid(SAGE_ERROR, response.json(), f"{response.request.url} error")
