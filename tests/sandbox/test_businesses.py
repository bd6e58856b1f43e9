"""Users and businesses: the lead business, X-Business routing and refusal, per-country books."""

from __future__ import annotations

from sage_sandbox import SandboxServer
from testkit.sage_http import Api


def test_the_user_has_several_businesses_of_different_countries(api: Api) -> None:
    listing = api.ok("/businesses")
    assert listing["$items_per_page"] == 2147483647 and "$itemsPerPage" not in listing
    assert listing["$total"] == len(listing["$items"]) >= 2
    details = [api.ok(f"/businesses/{b['id']}") for b in listing["$items"]]
    assert {d["country"]["id"] for d in details} >= {"GB", "US"}
    currencies = {api.ok("/financial_settings", b["id"])["base_currency"]["id"] for b in listing["$items"]}
    assert currencies >= {"GBP", "USD"}
    assert api.ok("/businesses/lead")["id"] == listing["$items"][0]["id"]
    user = api.ok("/user")
    assert user["email"] and user["id"]


def test_x_business_selects_the_business_and_is_echoed(api: Api) -> None:
    lead, other = (b["id"] for b in api.ok("/businesses")["$items"][:2])
    default = api.get("/ledger_accounts", items_per_page=200)
    assert default.headers["x-business"] == lead
    chosen = api.get("/ledger_accounts", business=other, items_per_page=200)
    assert chosen.headers["x-business"] == other
    assert {r["id"] for r in default.json()["$items"]}.isdisjoint({r["id"] for r in chosen.json()["$items"]})
    explicit_lead = api.get("/ledger_accounts", business=lead, items_per_page=200)
    assert explicit_lead.json() == default.json()


def test_ids_of_one_business_are_not_found_in_another(api: Api) -> None:
    lead, other = (b["id"] for b in api.ok("/businesses")["$items"][:2])
    invoice = api.ok("/sales_invoices", lead, items_per_page=1)["$items"][0]["id"]
    assert api.get(f"/sales_invoices/{invoice}", business=lead, mark_as_sent="false").status_code == 200
    missing = api.get(f"/sales_invoices/{invoice}", business=other)
    assert missing.status_code == 404 and missing.json()[0]["$dataCode"] == "RecordNotFound"


def test_unknown_or_foreign_businesses_are_refused(api: Api, shared_server: SandboxServer) -> None:
    for business in ("0123456789abcdef0123456789abcdef", shared_server.sandbox.outsider_business_id, ""):
        response = api.http.get("/contacts", headers={"X-Business": business})
        assert response.status_code == 401
        (error,) = response.json()
        assert error["$dataCode"] == "AuthorizationFailure" and error["$source"] == "X-Business"
    foreign = api.get(f"/businesses/{shared_server.sandbox.outsider_business_id}")
    assert foreign.status_code == 404
