"""Filters at their boundaries: inclusive ``updated_or_created_since``, exclusive
``deleted_since``, inclusive date ranges, id filters, search, attribute selection, bad values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sage_sandbox import SandboxServer
from testkit.sage_http import Api, login


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_updated_or_created_since_is_inclusive_to_the_second(api: Api) -> None:
    rows = api.all_items("sales_invoices", attributes="updated_at", items_per_page=200)
    pivot = sorted(r["updated_at"] for r in rows)[len(rows) // 2]
    at = {
        r["id"] for r in api.all_items("sales_invoices", updated_or_created_since=pivot, items_per_page=200)
    }
    later = _stamp(_parse(pivot) + timedelta(seconds=1))
    after = {
        r["id"] for r in api.all_items("sales_invoices", updated_or_created_since=later, items_per_page=200)
    }
    assert at == {r["id"] for r in rows if r["updated_at"] >= pivot}
    assert after == {r["id"] for r in rows if r["updated_at"] > pivot}
    assert at - after, "some row changed exactly at the pivot second"


def test_offsets_are_honoured_and_must_be_percent_encoded(api: Api) -> None:
    rows = api.all_items("sales_invoices", attributes="updated_at", items_per_page=200)
    pivot = _parse(sorted(r["updated_at"] for r in rows)[len(rows) // 3])
    in_utc = api.ok("/sales_invoices", updated_or_created_since=_stamp(pivot))["$total"]
    for zone in ("America/New_York", "Europe/Berlin"):  # a negative and a positive offset
        local = pivot.astimezone(ZoneInfo(zone)).isoformat()
        assert api.ok("/sales_invoices", updated_or_created_since=local)["$total"] == in_utc
    berlin = pivot.astimezone(ZoneInfo("Europe/Berlin")).isoformat()
    unencoded = api.http.get(f"/sales_invoices?updated_or_created_since={berlin}")  # '+' arrives as a space
    assert unencoded.status_code == 400
    assert unencoded.json()[0]["$source"] == "updated_or_created_since"


def test_a_date_alone_means_midnight_utc(api: Api) -> None:
    rows = api.all_items("ledger_entries", attributes="updated_at", items_per_page=200)
    day = sorted(r["updated_at"] for r in rows)[len(rows) // 2][:10]
    listed = {
        r["id"] for r in api.all_items("ledger_entries", updated_or_created_since=day, items_per_page=200)
    }
    assert listed == {r["id"] for r in rows if r["updated_at"] >= f"{day}T00:00:00Z"}


def test_from_and_to_date_are_inclusive(api: Api) -> None:
    rows = api.all_items("sales_invoices", attributes="date", items_per_page=200)
    dates = sorted({r["date"] for r in rows})
    low, high = dates[len(dates) // 4], dates[len(dates) // 2]
    listed = {
        r["id"] for r in api.all_items("sales_invoices", from_date=low, to_date=high, items_per_page=200)
    }
    assert listed == {r["id"] for r in rows if low <= r["date"] <= high}
    assert any(r["date"] == low for r in rows) and any(r["date"] == high for r in rows)


@pytest.mark.parametrize(
    ("resource", "param", "field"),
    [
        ("sales_invoices", "contact_id", "contact"),
        ("sales_invoices", "status_id", "status"),
        ("contact_payments", "bank_account_id", "bank_account"),
        ("contact_payments", "transaction_type_id", "transaction_type"),
        ("other_payments", "transaction_type_id", "transaction_type"),
        ("transactions", "transaction_type_id", "transaction_type"),
        ("ledger_entries", "ledger_account_id", "ledger_account"),
        ("ledger_entries", "transaction_id", "transaction"),
        ("ledger_accounts", "ledger_account_type_id", "ledger_account_type"),
    ],
)
def test_id_filters_select_exactly_the_matching_rows(api: Api, resource: str, param: str, field: str) -> None:
    rows = api.all_items(resource, attributes="all", items_per_page=200)
    values = sorted({r[field]["id"] for r in rows if r.get(field)})
    assert len(values) > 1, f"{resource}.{field} has only {values}"
    for value in values[:3]:
        listed = {r["id"] for r in api.all_items(resource, items_per_page=200, **{param: value})}
        assert listed == {r["id"] for r in rows if (r.get(field) or {}).get("id") == value}
    assert api.ok(f"/{resource}", **{param: "no-such-id"})["$total"] == 0


def test_ledger_entries_filter_by_their_transactions_type(api: Api) -> None:
    transactions = api.all_items("transactions", attributes="transaction_type", items_per_page=200)
    receipts = {t["id"] for t in transactions if t["transaction_type"]["id"] == "CUSTOMER_RECEIPT"}
    entries = api.all_items(
        "ledger_entries", transaction_type_id="CUSTOMER_RECEIPT", attributes="transaction", items_per_page=200
    )
    assert entries and {e["transaction"]["id"] for e in entries} == receipts


def test_contact_type_search_and_flags(api: Api) -> None:
    contacts = api.all_items("contacts", attributes="all", items_per_page=200)
    customers = {c["id"] for c in contacts if any(t["id"] == "CUSTOMER" for t in c["contact_types"])}
    assert {
        c["id"] for c in api.all_items("contacts", contact_type_id="CUSTOMER", items_per_page=200)
    } == customers
    name = contacts[0]["name"]
    needle = name.split()[0].upper()
    found = {c["id"] for c in api.all_items("contacts", search=needle, items_per_page=200)}
    assert found == {c["id"] for c in contacts if needle.lower() in f"{c['name']} {c['reference']}".lower()}
    assert api.ok("/products", active="true")["$total"] == api.ok("/products")["$total"]
    assert api.ok("/products", active="false")["$total"] == 0
    assert api.ok("/sales_invoices", has_attachments="true")["$total"] == 0


def test_attributes_select_fields_and_base_is_the_default(api: Api) -> None:
    (row,) = api.ok("/sales_invoices", items_per_page=1, attributes="date,due_date,total_amount")["$items"]
    assert set(row) == {"id", "displayed_as", "$path", "date", "due_date", "total_amount"}
    (bare,) = api.ok("/sales_invoices", items_per_page=1)["$items"]
    assert set(bare) == {"id", "displayed_as", "$path"}
    (full,) = api.ok("/sales_invoices", items_per_page=1, attributes="all")["$items"]
    assert "payments_allocations" not in full and "invoice_lines" in full
    (with_allocations,) = api.ok(
        "/sales_invoices", items_per_page=1, attributes="all", show_payments_allocations="true"
    )["$items"]
    assert {**full, "payments_allocations": with_allocations["payments_allocations"]} == with_allocations


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-13-01",
        "2026-02-30",
        "2026-01-01T25:00:00Z",
        "2026-01-01T10:00:00+25:00",
        "20260101",
    ],
)
def test_invalid_dates_get_a_sage_400(api: Api, value: str) -> None:
    for param in ("updated_or_created_since", "from_date"):
        response = api.get("/sales_invoices", **{param: value})
        assert response.status_code == 400, (param, value, response.text)
        assert response.json()[0]["$source"] == param


def test_bad_booleans_get_a_sage_400(api: Api) -> None:
    response = api.get("/sales_invoices", show_payments_allocations="yes please")
    assert response.status_code == 400


def test_deleted_since_is_exclusive(fresh_server: Callable[..., SandboxServer]) -> None:
    server = fresh_server(seed=11)
    server.sandbox.advance(30)
    client = Api(server.urls, login(server.urls)["access_token"])
    deletions = server.sandbox.deletions(server.sandbox.business_ids[0])
    resource = next(
        name for name in ("contact_payments", "purchase_invoices", "other_payments") if name in deletions
    )
    gone = deletions[resource]
    moment = sorted(d["deleted_at"] for d in gone)[0]
    business = server.sandbox.business_ids[0]
    at = _stamp(datetime.fromtimestamp(moment, UTC))
    before = _stamp(datetime.fromtimestamp(moment - 1, UTC))
    listed_at = {r["id"] for r in client.all_items(resource, business, deleted_since=at)}
    listed_before = {r["id"] for r in client.all_items(resource, business, deleted_since=before)}
    assert listed_at == {d["id"] for d in gone if d["deleted_at"] > moment}
    assert listed_before == {d["id"] for d in gone if d["deleted_at"] > moment - 1}
    assert listed_before - listed_at, "the row deleted at the boundary second is excluded only at that second"
    live = {r["id"] for r in client.all_items(resource, business, items_per_page=200)}
    assert not live & listed_before, "deleted rows are gone from ordinary listings"
    for key in listed_before:
        assert client.get(f"/{resource}/{key}", business).status_code == 404
