"""``GET /{endpoint}/{id}``: all attributes by default, allocations on request, and a sales
invoice read without ``mark_as_sent=false`` is marked sent (the spec's default)."""

from __future__ import annotations

from collections.abc import Callable

from sage_sandbox import SandboxServer
from testkit.sage_http import Api, login


def test_an_item_has_every_attribute_and_allocations_on_request(api: Api) -> None:
    (listed,) = api.ok(
        "/sales_invoices", items_per_page=1, attributes="all", show_payments_allocations="true", sort="date"
    )["$items"]
    item = api.ok(f"/sales_invoices/{listed['id']}", mark_as_sent="false", show_payments_allocations="true")
    assert item == listed
    plain = api.ok(f"/sales_invoices/{listed['id']}", mark_as_sent="false")
    assert "payments_allocations" not in plain and plain["invoice_lines"] == listed["invoice_lines"]
    narrow = api.ok(f"/sales_invoices/{listed['id']}", mark_as_sent="false", attributes="date")
    assert set(narrow) == {"id", "displayed_as", "$path", "date"}


def test_reading_a_sales_invoice_marks_it_sent_unless_told_not_to(
    fresh_server: Callable[..., SandboxServer],
) -> None:
    server = fresh_server()
    api = Api(server.urls, login(server.urls)["access_token"])
    unsent = next(
        r
        for r in api.all_items("sales_invoices", attributes="all", items_per_page=200)
        if r["sent"] is False and r["status"]["id"] not in ("DRAFT", "VOID")
    )
    server.sandbox.move_clock(10)  # the read happens after the invoice was last changed
    untouched = api.ok(f"/sales_invoices/{unsent['id']}", mark_as_sent="false")
    assert untouched["sent"] is False and untouched["updated_at"] == unsent["updated_at"]
    read = api.ok(f"/sales_invoices/{unsent['id']}")
    assert read["sent"] is True and read["updated_at"] > unsent["updated_at"]
