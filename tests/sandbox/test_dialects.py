"""Roles, availability and dialects, over real HTTP.

A user's roles are refused exactly where the swagger's "Access Control Restrictions" ask for more
(read here from the swagger text, not from the sandbox's catalog); a list a business does not
offer answers 404 and its books hold none of its documents yet still add up; the ``variant``
dialect names control accounts otherwise, changes nothing else in the books, and its books add
up too; each dialect refuses in its own shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sage_sandbox import Sandbox, SandboxConfig, SandboxServer
from sage_sandbox.books.audit import audit
from testkit.books_over_http import fetch_books
from testkit.sage_http import Api, login
from testkit.sandboxes import SMALL
from testkit.swagger_rules import ROUTES, allows
from testkit.swagger_schema import SAGE_ERROR, assert_valid

CREDIT_NOTES = ("sales_credit_notes", "purchase_credit_notes")
MISSING_ID = "0123456789abcdef0123456789abcdef"


def client(server: SandboxServer) -> Api:
    return Api(server.urls, login(server.urls)["access_token"])


def refusals(server: SandboxServer, api: Api, business: str) -> dict[str, httpx.Response]:
    """Every served route of ``business`` that is not answered 200, by swagger path.

    Item routes ask for a live row (a made-up id where the list is empty: then 404 RecordNotFound
    counts as let through, since the role check comes first)."""
    truth = server.sandbox.ground_truth(business)
    refused = {}
    for (name, item), path in ROUTES.items():
        url = f"/{name}"
        if item:
            url += f"/{truth[name][0]['id'] if truth[name] else MISSING_ID}"
        response = api.get(url, business, items_per_page=1, mark_as_sent="false")
        passed = response.status_code == 200 or (item and not truth[name] and response.status_code == 404)
        if not passed:
            refused[path] = response
    return refused


def expected_refusals(roles: dict[str, str], default: str = "Full Access") -> set[str]:
    return {path for path in ROUTES.values() if not allows(path, roles, default)}


def test_a_read_only_user_is_refused_exactly_where_the_swagger_asks_for_more(
    fresh_server: Callable[..., SandboxServer],
) -> None:
    server = fresh_server(roles="read_only")
    api = client(server)
    expected = expected_refusals({}, default="Read Only")
    # Only allocations need Full Access (in Sales, Purchases and Contacts at once).
    assert expected == {"/contact_allocations", "/contact_allocations/{key}"}
    for business in server.sandbox.business_ids:
        refused = refusals(server, api, business)
        assert set(refused) == expected
        for response in refused.values():
            assert response.status_code == 403
            assert_valid(SAGE_ERROR, response.json(), "403 body")
            assert response.json()[0]["$dataCode"] == "InsufficientUserPermission"


def test_roles_can_differ_per_area_and_per_business(fresh_server: Callable[..., SandboxServer]) -> None:
    roles = {"Sales": "No Access", "Settings": "Restricted Access", "Journals": "Restricted Access"}
    server = fresh_server(business_roles={1: roles})
    api = client(server)
    lead, second = server.sandbox.business_ids
    assert refusals(server, api, lead) == {}
    refused = refusals(server, api, second)
    assert set(refused) == expected_refusals(roles)
    # "Any one area" rules let the user through another area; "every area" rules do not.
    needs_more = {"/sales_invoices", "/financial_settings", "/ledger_entries", "/contact_allocations"}
    assert needs_more <= set(refused)
    assert not {"/contacts", "/ledger_accounts", "/artefact_statuses", "/tax_rates"} & set(refused)
    assert all(response.status_code == 403 for response in refused.values())


def test_an_unavailable_list_is_404_and_its_documents_are_not_in_the_books(
    fresh_server: Callable[..., SandboxServer],
) -> None:
    """As a Spanish business would: no credit notes at all, and the books still add up."""
    server = fresh_server(invoices=200, history_days=300, unavailable={1: CREDIT_NOTES})
    api = client(server)
    lead, second = server.sandbox.business_ids
    for name in CREDIT_NOTES:
        assert api.get(f"/{name}", lead).status_code == 200
        for url in (f"/{name}", f"/{name}/{MISSING_ID}"):
            response = api.get(url, second)
            assert response.status_code == 404
            assert_valid(SAGE_ERROR, response.json(), "404 body")
            assert response.json()[0]["$dataCode"] == "NotFound"
    # The same business with every list offered does have credit notes and their allocations.
    whole = Sandbox(SandboxConfig(**{**server.sandbox.config.__dict__, "unavailable": {}}))
    for name in (*CREDIT_NOTES, "contact_allocations"):
        assert whole.ground_truth(whole.business_ids[1])[name]
    # The other business is untouched by the option.
    assert server.sandbox.ground_truth(lead) == whole.ground_truth(lead)
    server.sandbox.advance(20)  # time moves: no credit notes either, and the token has expired
    books = fetch_books(client(server), second, unavailable=CREDIT_NOTES)
    assert audit(books) == []
    assert_no_credit_notes(books)
    assert not any(server.sandbox.ground_truth(second)[name] for name in CREDIT_NOTES)
    assert server.sandbox.audit() == {lead: [], second: []}


def assert_no_credit_notes(books: dict[str, list[dict[str, Any]]]) -> None:
    """Nothing raised, posted or allocated from a credit note."""
    types = {row["transaction_type"]["id"] for row in books["transactions"]}
    assert not types & {"SALES_CREDIT_NOTE", "PURCHASE_CREDIT_NOTE"}
    assert books["contact_allocations"] == []
    for name in ("sales_invoices", "purchase_invoices"):
        for row in books[name]:
            assert not any(a["contact_allocation"] or a["artefact"] for a in row["payments_allocations"])


def test_the_variant_dialect_names_control_accounts_otherwise_and_changes_nothing_else(
    fresh_server: Callable[..., SandboxServer],
) -> None:
    server = fresh_server(dialect="variant")
    default = Sandbox(SandboxConfig(**{**server.sandbox.config.__dict__, "dialect": "default"}))
    api = client(server)
    for business in server.sandbox.business_ids:
        books = fetch_books(api, business)
        assert audit(books) == []
        # The audit ties open items to the debtors control account without knowing its name.
        unpaid = next(i for i in books["sales_invoices"] if i["status"]["id"] == "UNPAID")
        unpaid["base_currency_outstanding_amount"] = "0.01"
        assert any(p.startswith("debtors control: ledger") for p in audit(books))
        for row in books["ledger_accounts"]:
            assert_valid("LedgerAccount", row, "variant ledger account")
        variant_truth, default_truth = server.sandbox.ground_truth(business), default.ground_truth(business)
        controls = {
            name: [(r["id"], r["control_name"]) for r in truth["ledger_accounts"] if r["is_control_account"]]
            for name, truth in (("variant", variant_truth), ("default", default_truth))
        }
        assert [i for i, _ in controls["variant"]] == [i for i, _ in controls["default"]]
        named = {name: {n for _, n in pairs if n} for name, pairs in controls.items()}
        assert named["variant"] and not named["variant"] & named["default"]
        assert any(n is None for _, n in controls["variant"]), "some control accounts have no name"
        assert all(n is not None for _, n in controls["default"])
        for name in variant_truth:
            if name != "ledger_accounts":
                assert variant_truth[name] == default_truth[name], name
        strip = [{**r, "control_name": None} for r in variant_truth["ledger_accounts"]]
        assert strip == [{**r, "control_name": None} for r in default_truth["ledger_accounts"]]


def test_the_default_dialect_keeps_its_control_names() -> None:
    sandbox = Sandbox(SMALL)
    lead = sandbox.ground_truth(sandbox.business_ids[0])
    names = {r["control_name"] for r in lead["ledger_accounts"] if r["is_control_account"]}
    assert names == {
        "DEBTORS_CONTROL",
        "CREDITORS_CONTROL",
        "SALES_TAX",
        "PURCHASE_TAX",
        "VAT_LIABILITY",
        "RETAINED_EARNINGS",
        "EXCHANGE_GAIN_LOSS",
        "SUSPENSE",
    }


def shape(response: httpx.Response) -> tuple[int, str, str | None]:
    """(status, body style, data code) of a refusal."""
    if response.headers["content-type"].startswith("text/html"):
        return response.status_code, "html", None
    body = response.json()
    if isinstance(body, list):
        assert_valid(SAGE_ERROR, body, "error list")
        return response.status_code, "sage", body[0]["$dataCode"]
    assert set(body) == {"$dataCode", "$message"} and body["$message"]
    return response.status_code, "object", body["$dataCode"]


@pytest.mark.parametrize(
    ("dialect", "forbidden", "not_offered", "foreign_business"),
    [
        (
            "default",
            (403, "sage", "InsufficientUserPermission"),
            (404, "sage", "NotFound"),
            (401, "sage", "AuthorizationFailure"),
        ),
        (
            "variant",
            (403, "object", "AccessDenied"),
            (404, "html", None),
            (403, "object", "BusinessAccessDenied"),
        ),
    ],
)
def test_each_dialect_refuses_in_its_own_shape(
    fresh_server: Callable[..., SandboxServer],
    dialect: str,
    forbidden: tuple[int, str, str | None],
    not_offered: tuple[int, str, str | None],
    foreign_business: tuple[int, str, str | None],
) -> None:
    server = fresh_server(
        dialect=dialect, invoices=20, history_days=30, roles="read_only", unavailable={0: CREDIT_NOTES}
    )
    api = client(server)
    assert shape(api.get("/contact_allocations")) == forbidden
    assert shape(api.get(f"/contact_allocations/{MISSING_ID}")) == forbidden
    assert shape(api.get("/sales_credit_notes")) == not_offered
    assert shape(api.get("/sales_invoices", business=server.sandbox.outsider_business_id)) == foreign_business
    assert shape(api.get("/sales_invoices", business="not-a-business")) == foreign_business
    assert api.get("/sales_invoices").status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dialect": "cockney"}, "unknown dialect"),
        ({"roles": {"Sales": "Boss"}}, "unknown role"),
        ({"roles": {"Canteen": "Read Only"}}, "unknown area"),
        ({"roles": "admin"}, "unknown roles preset"),
        ({"business_roles": {2: "read_only"}}, "no business 2"),
        ({"products": {0: "Accounting Deluxe"}}, "unknown product"),
        ({"products": {1: "Accounting Standard"}}, "does not sell Accounting Standard in US"),
        ({"unavailable": {0: ("ledger_entries",)}}, "cannot do without ledger_entries"),
        ({"unavailable": {0: "sales_credit_notes"}}, "tuple of endpoint names"),
    ],
)
def test_settings_that_make_no_sense_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sandbox(SandboxConfig(**{**SMALL.__dict__, "invoices": 10, "history_days": 10, **changes}))
