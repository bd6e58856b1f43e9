"""Bad input gets a Sage-style 4xx, never a 500: every listed parameter of every endpoint is
tried with hostile values, and the item and admin routes with malformed keys and bodies."""

from __future__ import annotations

import httpx
import pytest

from sage_sandbox import SandboxServer
from sage_sandbox.catalog import ENDPOINTS
from testkit.sage_http import Api

HOSTILE = [
    "",
    " ",
    "-1",
    "0",
    "99999999999999999999",
    "true",
    "nope",
    "2026-02-30",
    "1e9",
    "%00",
    "ä",
    "a" * 2000,
    "null",
]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_no_parameter_value_makes_a_list_endpoint_fail(api: Api, name: str) -> None:
    endpoint = ENDPOINTS[name]
    for param in (*endpoint.list_params, "page", "items_per_page", "attributes", "sort"):
        for value in HOSTILE:
            response = api.http.get(f"/{name}", params={param: value})
            assert response.status_code in (200, 400), (
                name,
                param,
                value,
                response.status_code,
                response.text[:200],
            )
            if response.status_code == 400:
                assert response.json()[0]["$source"] == param


@pytest.mark.parametrize("key", ["", "x", "lead", "0" * 32, "g" * 32, "../contacts", "%2F", "a" * 300])
def test_malformed_item_keys_are_not_found(api: Api, key: str) -> None:
    for name in ("sales_invoices", "contacts", "currencies", "businesses"):
        response = api.http.get(f"/{name}/{key}")
        assert response.status_code in (200, 404), (name, key, response.status_code)


def test_admin_routes_refuse_garbage_without_failing(shared_server: SandboxServer) -> None:
    admin = shared_server.urls.admin
    probes = [
        ("GET", "/deletions?business=nope", None),
        (
            "GET",
            f"/deletions?business={shared_server.sandbox.business_ids[0]}&since=yesterday",
            None,
        ),
        ("GET", "/ground_truth?business=nope", None),
        ("GET", f"/ground_truth?business={shared_server.sandbox.business_ids[0]}&resource=nope", None),
        ("POST", "/clock", {"seconds": -5}),
        ("POST", "/clock", {"seconds": "soon"}),
        ("PUT", "/limits", {"per_hour": 3}),
        ("PUT", "/faults", [1, 2]),
        ("GET", "/usage?window=soon", None),
        ("GET", "/usage?window=0", None),
    ]
    for method, path, body in probes:
        response = httpx.request(method, f"{admin}{path}", json=body)
        assert response.status_code == 400, (path, response.status_code, response.text)
        assert response.json()["error"]
