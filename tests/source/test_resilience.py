"""Sage failing, throttling and refusing: the load still ends equal to the books, or stops cleanly.

Each test builds its own small sandbox, turns on its limits or faults over the admin HTTP API,
and loads it with the real pipeline over real HTTP into a real DuckDB file. The sandbox's
counters prove the trouble was really served. Where the sandbox cannot misbehave the way a
test needs (one endpoint failing for hours), ``testkit.fake_sage`` stands in front of it as a
forwarding proxy on loopback and fails just that endpoint.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import dlt
import httpx
import pytest

from pipelines.cli import EXIT_SAGE, classify
from pipelines.runner import run
from sage_sandbox import SandboxServer
from testkit.fake_sage import FakeSage, Reply, Seen, sage_error
from testkit.pipeline_env import PREFIX, Connected, connect, patched_env
from testkit.warehouse import mismatches

Build = Callable[..., SandboxServer]


def set_faults(server: SandboxServer, **settings: Any) -> None:
    httpx.put(f"{server.urls.admin}/faults", json=settings).raise_for_status()


def set_limits(server: SandboxServer, **settings: Any) -> None:
    httpx.put(f"{server.urls.admin}/limits", json=settings).raise_for_status()


def served(server: SandboxServer) -> dict[str, dict[str, int]]:
    """Outcomes of API requests by route (``GET /v3.1/contacts`` → ``{"200": 4, "503": 1}``)."""
    counters: dict[str, dict[str, int]] = httpx.get(f"{server.urls.admin}/counters").json()
    return {route: outcomes for route, outcomes in counters.items() if " /v3.1/" in route}


def outcomes(server: SandboxServer) -> Counter[str]:
    total: Counter[str] = Counter()
    for by_outcome in served(server).values():
        total.update(by_outcome)
    return total


def test_faults_during_a_full_load_of_two_businesses(fresh_server: Build, tmp_path: Path) -> None:
    """5xx (Sage's JSON and a gateway's HTML), dropped and truncated responses: retried, equal."""
    server = fresh_server(invoices=40, history_days=90)
    connected = connect(server, tmp_path)
    set_faults(server, seed=11, error_rate=0.2, drop_rate=0.05, truncate_rate=0.05)
    # Pages of 20 make a few hundred requests, so every kind of fault is drawn many times.
    connected.run(source_options={"items_per_page": 20, "max_retries": 12})

    seen = outcomes(server)
    for kind in ("500", "502", "503", "504", "drop", "truncate"):
        assert seen[kind] > 0, (kind, seen)
    assert set(seen) == {"200", "500", "502", "503", "504", "drop", "truncate"}, seen
    assert len(server.sandbox.business_ids) == 2
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox) == []


def test_heavy_pages_that_keep_failing_are_read_in_smaller_pages(fresh_server: Build, tmp_path: Path) -> None:
    """Every ``attributes=all`` page of more than 10 items fails (as Sage's heavy pages do)."""
    server = fresh_server(invoices=40, history_days=90)
    connected = connect(server, tmp_path)
    set_faults(server, seed=3, large_page_error_rate=1.0, large_page_threshold=10)
    resources = ["contacts", "sales_invoices"]
    connected.run(resources=resources, source_options={"max_retries": 1})

    counts = served(server)
    truth = {b: server.sandbox.ground_truth(b) for b in server.sandbox.business_ids}
    for resource in resources:
        route = counts[f"GET /v3.1/{resource}"]
        # Pages of 200, 100, 50, 25 and 12 failed (twice each: one retry) for the first business;
        # then pages of 10 carried the whole list, and every later listing of that endpoint (the
        # next business) starts at 10. 10 items a page is the only way to this many 200s. A
        # listing of several pages ends by reading again what changed while it was paged: one
        # more page per business.
        pages = [math.ceil(len(t[resource]) / 10) for t in truth.values()]
        assert route["200"] == sum(pages) + sum(n > 1 for n in pages), route
        assert route["200"] > len(truth), route
        failed = sum(n for outcome, n in route.items() if outcome != "200")
        assert failed == 5 * 2, route
        assert set(route) <= {"200", "500", "502", "504"}, route
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=resources) == []


def test_a_429_storm_is_waited_out(fresh_server: Build, tmp_path: Path) -> None:
    """Sage admits one request at a time; we send up to four: refused ones wait ``Retry-After``."""
    server = fresh_server(invoices=40, history_days=90)
    connected = connect(server, tmp_path)
    # The latency makes requests overlap, as they do on a real server, so the limit bites.
    set_limits(server, concurrent=1, latency=0.05)
    resources = ["contacts", "sales_invoices", "purchase_invoices", "ledger_entries", "transactions"]
    connected.run(resources=resources, source_options={"max_concurrency": 4, "max_retries": 30})

    seen = outcomes(server)
    assert seen["429"] > 0, seen
    assert set(seen) == {"200", "429"}, seen  # every refused request was sent again and served
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=resources) == []


# -- outages that do not pass ------------------------------------------------------------------

RESOURCES = ["contacts", "sales_invoices", "ledger_accounts"]


def warehouse_contents(connected: Connected) -> dict[str, list[str]]:
    """Every row of every table (ours and dlt's), as sorted text: equal means untouched."""
    with connected.warehouse() as warehouse:
        return {table: sorted(map(repr, warehouse.rows(table))) for table in sorted(warehouse.tables())}


def pipeline_state(connected: Connected) -> tuple[dict[str, Any], bool]:
    """The source's state (watermarks per resource and business) and whether packages are pending."""
    request = connected.request()
    assert request.pipelines_dir is not None
    pipeline = dlt.attach(request.pipeline_name, pipelines_dir=request.pipelines_dir)
    return dict(pipeline.state.get("sources", {})), pipeline.has_pending_data


def one_endpoint_down(server: SandboxServer) -> FakeSage:
    """The sandbox behind a proxy that answers every ``/sales_invoices`` request with 503."""

    def handler(seen: Seen) -> Reply | None:
        if seen.path == "/v3.1/sales_invoices":
            return sage_error(503, "ServiceUnavailable", "Service unavailable, please retry later.")
        return None  # forwarded to the sandbox

    return FakeSage(handler, upstream=server.urls.base)


def business_rows(connected: Connected) -> dict[tuple[str, str], list[str]]:
    """Each resource's rows per business, as sorted text: equal means untouched."""
    out: dict[tuple[str, str], list[str]] = {}
    with connected.warehouse() as warehouse:
        for resource in RESOURCES:
            for row in warehouse.rows(resource):
                out.setdefault((resource, str(row["business_id"])), []).append(repr(row))
    return {key: sorted(rows) for key, rows in out.items()}


def test_an_outage_of_every_endpoint_fails_cleanly_and_loads_nothing(
    fresh_server: Build, tmp_path: Path
) -> None:
    server = fresh_server(invoices=40, history_days=90)
    connected = connect(server, tmp_path)
    connected.run(resources=RESOURCES)
    changes = server.sandbox.advance(7)  # the books move on: the next run has rows to load
    assert any(n for b in changes["businesses"].values() for n in b["updated"].values())
    contents, state = warehouse_contents(connected), pipeline_state(connected)
    assert state[0] and not state[1]

    set_faults(server, seed=2, error_rate=1.0)
    with patched_env(connected.env), pytest.raises(Exception) as raised:
        run(connected.request(resources=RESOURCES, source_options={"max_retries": 2}))
    code, line = classify(raised.value)
    assert code == EXIT_SAGE and re.fullmatch(
        r"Sage: GET /v3.1/businesses: HTTP 50[0234] .+ after 2 retries", line
    )
    tokens = json.loads(connected.token_store.read_text())
    assert tokens["access_token"] not in line and tokens["refresh_token"] not in line
    # Nothing of the failed run reached the warehouse, the watermarks did not move, and no half
    # extracted package waits to be loaded by the next run.
    assert warehouse_contents(connected) == contents
    assert pipeline_state(connected) == state

    set_faults(server, error_rate=0.0)
    connected.run(resources=RESOURCES)
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []


@pytest.mark.parametrize("outage", ["one endpoint", "daily quota"])
def test_a_resource_that_keeps_failing_costs_the_others_nothing(
    fresh_server: Build, tmp_path: Path, outage: str
) -> None:
    """What fails after its retries loads nothing and keeps its watermark; the rest loads."""
    server = fresh_server(invoices=40, history_days=90)
    connected = connect(server, tmp_path)
    connected.run(resources=RESOURCES)
    server.sandbox.advance(7)
    before, (state, _) = business_rows(connected), pipeline_state(connected)

    env = connected.env
    with ExitStack() as stack:
        if outage == "one endpoint":
            proxy = stack.enter_context(one_endpoint_down(connected.server))
            env = {**env, f"{PREFIX}API_BASE_URL": proxy.api}
            failing, status = {"sales_invoices"}, 503
        else:
            set_limits(server, per_day=6)  # the books moved on a week: the run needs more than six
            failing, status = set(RESOURCES), 429
        with patched_env(env):
            report = run(connected.request(resources=RESOURCES, source_options={"max_retries": 2}))

    businesses = set(server.sandbox.business_ids)
    incomplete = {(u.business_id, u.resource) for u in report.incomplete}
    # With a daily quota of six, the first few reads may get through before it runs out.
    assert incomplete <= {(b, r) for b in businesses for r in failing}
    assert {r for _, r in incomplete} == failing if outage == "one endpoint" else incomplete
    for unit in report.incomplete:
        assert unit.outcome == "failed" and unit.http_status == status, unit
        assert unit.message and unit.resource in unit.message and "watermark is kept" in unit.message
        # A 503 is tried three times (once and two retries); a quota that asks to wait hours fails
        # at once. Rows read before the failure were dropped (checked below), never loaded.
        assert unit.requests >= (3 if status == 503 else 1), unit
    after, (state_after, pending) = business_rows(connected), pipeline_state(connected)
    assert not pending
    resource_state = state["sage_accounting"]["resources"]
    resource_after = state_after["sage_accounting"]["resources"]
    for business, resource in incomplete:  # untouched: no row, and the same watermark
        assert after[(resource, business)] == before[(resource, business)]
        assert resource_after[resource][business] == resource_state[resource][business]
    loaded = {(u.business_id, u.resource) for u in report.outcomes if u.outcome == "loaded"}
    if outage == "one endpoint":
        assert loaded == {(b, r) for b in businesses for r in RESOURCES if r not in failing}
        with connected.warehouse() as warehouse:
            others = [r for r in RESOURCES if r not in failing]
            assert mismatches(warehouse, server.sandbox, resources=others) == []

    set_limits(server, per_day=None)
    report = connected.run(resources=RESOURCES)
    assert not report.incomplete
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=RESOURCES) == []


def refusing(server: SandboxServer, refused: str, missing: str) -> FakeSage:
    """The sandbox behind a proxy: the first business gets 403 on ``refused`` (the user's role),
    the second 404 on ``missing`` (its country or product lacks the list), as real Sage answers."""
    first, second = server.sandbox.business_ids[:2]

    def handler(seen: Seen) -> Reply | None:
        if seen.path == f"/v3.1/{refused}" and seen.business == first:
            return sage_error(403, "InsufficientUserPermission", "You do not have permission to access this")
        if seen.path == f"/v3.1/{missing}" and seen.business == second:
            return Reply(404, b"Not Found", {"Content-Type": "text/plain"})
        return None

    return FakeSage(handler, upstream=server.urls.api.removesuffix("/v3.1"))


@pytest.mark.parametrize("strict", [False, True], ids=["skip", "strict"])
def test_a_list_sage_refuses_or_does_not_offer_is_skipped_and_asked_again(
    fresh_server: Build, tmp_path: Path, strict: bool
) -> None:
    server = fresh_server(invoices=40, history_days=90)
    connected = connect(server, tmp_path)
    first, second = server.sandbox.business_ids[:2]
    resources = ["contacts", "contact_allocations", "sales_quick_entries"]
    with refusing(server, "contact_allocations", "sales_quick_entries") as proxy:
        env = {**connected.env, f"{PREFIX}API_BASE_URL": proxy.api}
        if strict:  # the setting, the dlt way (here from the environment)
            env[f"{PREFIX}STRICT"] = "true"
        with patched_env(env):
            report = run(connected.request(resources=resources))

    skipped = {(u.business_id, u.resource): u for u in report.with_outcome("skipped")}
    assert set(skipped) == {(first, "contact_allocations"), (second, "sales_quick_entries")}
    refused, missing = skipped[(first, "contact_allocations")], skipped[(second, "sales_quick_entries")]
    assert refused.http_status == 403 and missing.http_status == 404
    # In plain words: the business, the resource, what Sage said, and what Sage requires (its swagger).
    assert refused.message is not None and missing.message is not None
    assert "contact_allocations of business 'Northwind" in refused.message
    assert "InsufficientUserPermission" in refused.message
    assert "Full Access in each of Sales, Purchases and Contacts" in refused.message
    assert "does not offer it" in missing.message and "Accounting Standard (GB, IE)" in missing.message
    assert report.with_outcome("failed") == []
    assert {(u.business_id, u.resource) for u in report.incomplete} == (set(skipped) if strict else set())
    # Everything else loaded; nothing of what was refused, and its watermark waits.
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=["contacts"]) == []
        assert warehouse.count("contact_allocations", "business_id = ?", [first]) == 0
        assert warehouse.count("contact_allocations", "business_id = ?", [second]) > 0
        assert warehouse.count("sales_quick_entries", "business_id = ?", [second]) == 0
    state = pipeline_state(connected)[0]["sage_accounting"]["resources"]
    assert state["contact_allocations"][first] == {} and state["contact_allocations"][second]

    # The role is granted (no proxy): the next run asks again and loads them.
    report = connected.run(resources=resources)
    assert [u.outcome for u in report.outcomes] == ["loaded"] * 6
    with connected.warehouse() as warehouse:
        assert mismatches(warehouse, server.sandbox, resources=resources) == []
