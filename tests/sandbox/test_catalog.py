"""The endpoint table says exactly what Sage's swagger says about each served endpoint: its
parameters, sort attributes and model, who may call it, and where Sage offers it."""

from __future__ import annotations

import re

import pytest

from sage_sandbox.catalog import (
    ENDPOINTS,
    FILTERS,
    PRESENTATION_PARAMS,
    SINGLETONS,
    SPECIAL_PARAMS,
    route_rules,
)
from testkit import swagger_rules
from testkit.swagger_rules import ROUTES, swagger

PAGING = {"items_per_page", "page", "attributes", "sort"}


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


@pytest.mark.parametrize(("name", "item"), sorted(ROUTES))
def test_access_rules_match_the_spec(name: str, item: bool) -> None:
    """Areas, accepted roles, and whether every area or any one is needed, as the swagger says."""
    rule, _ = route_rules(name, item)
    assert (rule.rule() if rule else None) == swagger_rules.access(ROUTES[name, item])


@pytest.mark.parametrize(("name", "item"), sorted(ROUTES))
def test_availability_matches_the_spec(name: str, item: bool) -> None:
    _, offered = route_rules(name, item)
    assert offered == swagger_rules.availability(ROUTES[name, item])


def test_the_two_phrasings_are_read_apart() -> None:
    """ "in the areas A, B, and C" needs all three; "one of the listed areas" needs any one."""
    every, allocations = swagger_rules.access("/contact_allocations") or (None, {})
    assert every is True and set(allocations) == {"Sales", "Purchases", "Contacts"}
    any_one, ledger = swagger_rules.access("/ledger_accounts") or (None, {})
    assert any_one is False and len(ledger) == 7
    assert swagger_rules.access("/currencies") is None
    assert ("Accounting Plus", "ES") not in swagger_rules.availability("/sales_credit_notes")
