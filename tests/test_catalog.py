"""The endpoint table says exactly what Sage's swagger says about each served endpoint."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from sage_sandbox.catalog import ENDPOINTS, FILTERS, PRESENTATION_PARAMS, SINGLETONS, SPECIAL_PARAMS
from tests.conftest import openapi_dir

PAGING = {"items_per_page", "page", "attributes", "sort"}


@cache
def swagger() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((openapi_dir() / "swagger-2.0.0.json").read_text())
    return spec


def query_params(path: str) -> list[str]:
    operation = swagger()["paths"][path]["get"]
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_list_parameters_match_the_spec(name: str) -> None:
    endpoint = ENDPOINTS[name]
    spec_params = [p for p in query_params(f"/{name}") if p not in PAGING]
    assert list(endpoint.list_params) == spec_params


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_sort_attributes_match_the_spec(name: str) -> None:
    parameters = swagger()["paths"][f"/{name}"]["get"].get("parameters", [])
    sort = next((p for p in parameters if p["name"] == "sort"), None)
    expected: tuple[str, ...] = ()
    if sort is not None:
        listed = re.search(r"Available attributes are:\n(.*)\n", sort["description"])
        assert listed is not None
        expected = tuple(a.strip() for a in listed.group(1).split(","))
    assert ENDPOINTS[name].sort == expected


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_item_parameters_and_model_match_the_spec(name: str) -> None:
    endpoint = ENDPOINTS[name]
    assert list(endpoint.item_params) == query_params(f"/{name}/{{key}}")
    schema = swagger()["paths"][f"/{name}"]["get"]["responses"]["200"]["schema"]
    assert schema["items"]["$ref"] == f"#/definitions/{endpoint.model}"


def test_singletons_match_the_spec() -> None:
    for name, model in SINGLETONS.items():
        schema = swagger()["paths"][f"/{name}"]["get"]["responses"]["200"]["schema"]
        assert schema["$ref"] == f"#/definitions/{model}"


def test_every_listed_parameter_has_a_meaning() -> None:
    """A parameter is a row filter, a presentation switch, or a change/search/attachment filter."""
    known = set(FILTERS) | PRESENTATION_PARAMS | SPECIAL_PARAMS
    for endpoint in ENDPOINTS.values():
        unknown = set(endpoint.list_params) - known
        assert not unknown, f"/{endpoint.name}: no meaning for {sorted(unknown)}"
