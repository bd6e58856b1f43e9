"""A Sage host that misbehaves: the real pipeline stops with one clear line, or loads exactly.

The sandbox never sends a ``$next`` to another host, a page that repeats, a 200 that is not
JSON or money as a float, so these tests point the real runner (``pipelines.runner.run``, the
real source, client and DuckDB) at ``testkit.fake_sage.FakeSage``, a stdlib HTTP server on
loopback that answers exactly that. Failures are judged as the user sees them: an error that
stops the run is turned into its exit code and one line by the CLI's ``classify``; one that ends
only its business × resource leaves the run to finish and exit 4, with that resource's outcome
saying what went wrong (and nothing of it loaded).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import EXIT_REAUTH, EXIT_SAGE, classify
from pipelines.runner import run
from sage_sandbox import SandboxServer
from sage_source.errors import ReauthorizationError
from testkit.fake_sage import BUSINESS_ID, FakeSage, Reply, Seen, fake_env, page, run_pipeline, sage_error
from testkit.pipeline_env import PREFIX, connect, patched_env
from testkit.warehouse import Warehouse

CONTACTS = "/v3.1/contacts"


def contact(n: int, **values: Any) -> dict[str, Any]:
    return {"id": f"c{n:04d}", "displayed_as": f"Contact {n}", "name": f"Contact {n}", **values}


def failure(fake: FakeSage, home: Path, **changes: Any) -> tuple[int, str, list[BaseException]]:
    """Run the pipeline against ``fake``; it must fail. Returns the exit code, the line saying why,
    and the chain of errors (empty when the run finished with one business × resource failed)."""
    try:
        report = run_pipeline(fake_env(fake, home), home, **changes)
    except Exception as failed:
        raised = failed
    else:
        assert report.incomplete, "the run should have failed"
        lines = [unit.message or "" for unit in report.incomplete]
        assert all(unit.outcome == "failed" for unit in report.incomplete)
        return EXIT_SAGE, "; ".join(lines), []
    chain: list[BaseException] = []
    error: BaseException | None = raised
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    code, line = classify(raised)
    return code, line, chain


def loaded(home: Path, table: str) -> list[dict[str, Any]]:
    """Rows of ``table`` in the run's DuckDB file ([] when nothing was ever loaded)."""
    database = home / "warehouse.duckdb"
    if not database.exists():
        return []
    with Warehouse(database) as warehouse:
        return warehouse.rows(table) if table in warehouse.tables() else []


def contacts_only(answer: Callable[[Seen], Reply | None]) -> Callable[[Seen], Reply | None]:
    """Answer ``/contacts`` with ``answer``; everything else as the fake's defaults."""

    def handler(seen: Seen) -> Reply | None:
        return answer(seen) if seen.path == CONTACTS else None

    return handler


# -- $next --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        lambda sage, other: f"{other.api}/contacts?page=2",  # another port on the same host
        lambda sage, other: f"http://{sage.url[7:]}@{other.url[7:]}/v3.1/contacts?page=2",  # userinfo trick
    ],
    ids=["other-port", "userinfo"],
)
def test_next_to_another_origin_is_refused_and_the_token_never_leaves(
    tmp_path: Path, link: Callable[[FakeSage, FakeSage], str]
) -> None:
    with FakeSage() as other, FakeSage() as sage:
        sage.handler = contacts_only(lambda seen: page([contact(1)], next_link=link(sage, other)))
        code, line, _chain = failure(sage, tmp_path, resources=["contacts"])

        assert code == EXIT_SAGE
        assert "contacts of business" in line and "failed" in line
        assert "$next points at" in line and other.url.split(":")[1].lstrip("/") in line, line
        assert "fake-access" not in line
        # The token was there to leak (Sage got it) and never reached the other origin.
        assert sage.api_requests("contacts")[0].headers["authorization"] == "Bearer fake-access-1"
        assert other.requests == []
        assert loaded(tmp_path, "contacts") == []


def test_relative_next_resolves_against_the_api_base_keeping_v3_1(tmp_path: Path) -> None:
    """Sage's ``$next`` is ``/contacts?page=2`` (no ``/v3.1``); it, and the other forms, are followed."""

    def answer(seen: Seen) -> Reply:
        number = int(seen.query.get("page", "1"))
        links = {
            1: "/contacts?page=2&items_per_page=2",  # Sage's form
            2: "contacts?page=3&items_per_page=2",  # no leading slash
            3: f"{sage.api}/contacts?page=4&items_per_page=2",  # absolute, same origin
            4: None,
        }
        items = [contact(2 * number - 1), contact(2 * number)]
        return page(items, next_link=links[number], number=number, total=8)

    with FakeSage() as sage:
        sage.handler = contacts_only(answer)
        run_pipeline(fake_env(sage, tmp_path), tmp_path, resources=["contacts"])
        # The listing of four pages; then (this fake ignores the filter) the read of what changed
        # while it was paged, which follows the same links.
        served, again = sage.api_requests("contacts")[:4], sage.api_requests("contacts")[4:]
    assert "updated_or_created_since" in again[0].query and len(again) == 4

    assert [s.path for s in served] == [CONTACTS] * 4
    assert [s.query.get("page") for s in served] == [None, "2", "3", "4"]
    assert {s.business for s in served} == {BUSINESS_ID}
    assert sorted(r["id"] for r in loaded(tmp_path, "contacts")) == [contact(n)["id"] for n in range(1, 9)]


def endless(next_for: Callable[[int], str], number_for: Callable[[int], int]) -> Callable[[Seen], Reply]:
    """Pages that never end; after 60 requests the fake gives up (so a client that loops succeeds)."""
    count = 0

    def answer(seen: Seen) -> Reply:
        nonlocal count
        count += 1
        link = next_for(count) if count < 60 else None
        return page([contact(count)], next_link=link, number=number_for(count), total=1000)

    return answer


def test_a_next_that_repeats_is_an_error_not_a_loop(tmp_path: Path) -> None:
    """Every page says ``$next: /contacts?page=2``: the second time is the last request."""
    answer = endless(lambda n: "/contacts?page=2", lambda n: n)
    with FakeSage(contacts_only(answer)) as sage:
        code, line, _chain = failure(sage, tmp_path, resources=["contacts"])
        asked = [s.query.get("page") for s in sage.api_requests("contacts")]
    assert code == EXIT_SAGE and "failed (contacts: $next repeats /v3.1/contacts?page=2; stopping)" in line, (
        line
    )
    assert asked == [None, "2"]
    assert loaded(tmp_path, "contacts") == []


def test_a_page_number_that_repeats_is_an_error(tmp_path: Path) -> None:
    """New ``$next`` links, but every page says it is page 1: Sage is serving the same page.

    (Pages are checked when parsed, a few MB at a time, so the client reads up to that much
    before it notices; the fake gives up after 60 pages, and a client that did not check would
    then succeed.)
    """
    answer = endless(lambda n: f"/contacts?page={n + 1}", lambda n: 1)
    with FakeSage(contacts_only(answer)) as sage:
        code, line, _chain = failure(sage, tmp_path, resources=["contacts"])
    assert code == EXIT_SAGE and "failed (contacts: Sage returned page 1 again after page 1)" in line, line
    assert loaded(tmp_path, "contacts") == []


# -- bodies Sage should never send --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Down for maintenance</body></html>", "the page is not JSON"),
        (
            b'{"$total": 2, "$page": 1, "$next": null, "$items": [{"id": "c1", "name": "Cut sh',
            "not valid JSON",
        ),
        (b"", "the page is not JSON"),
        (b'["not", "a", "page"]', "not a JSON object"),
    ],
    ids=["html", "truncated", "empty", "array"],
)
def test_a_200_whose_body_is_not_a_page_is_one_clear_error(tmp_path: Path, body: bytes, message: str) -> None:
    answer = Reply(200, body, {"Content-Type": "application/json"})
    with FakeSage(contacts_only(lambda seen: answer)) as sage:
        code, line, _chain = failure(sage, tmp_path, resources=["contacts"])
    assert code == EXIT_SAGE and "failed (contacts: " in line and message in line, line
    assert "\n" not in line
    assert loaded(tmp_path, "contacts") == []


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"$total": 3, "$page": 1, "$next": null}', b'{"$total": 0, "$items": null}'],
    ids=["empty-object", "no-items", "null-items"],
)
def test_a_200_without_an_items_list_fails_that_business_and_resource_only(
    shared_server: SandboxServer, tmp_path: Path, body: bytes
) -> None:
    """A list answered with no ``$items`` is not an empty page: read as one, a business's contacts
    would look deleted-free and complete. It fails; the other business and list load."""
    connected = connect(shared_server, tmp_path)
    first, second = shared_server.sandbox.business_ids[:2]

    def handler(seen: Seen) -> Reply | None:
        if seen.path == CONTACTS and seen.business == first:
            return Reply(200, body, {"Content-Type": "application/json"})
        return None  # forwarded to the sandbox

    upstream = shared_server.urls.api.removesuffix("/v3.1")
    with (
        FakeSage(handler, upstream=upstream) as proxy,
        patched_env({**connected.env, f"{PREFIX}API_BASE_URL": proxy.api}),
    ):
        report = run(connected.request(resources=["contacts", "tax_rates"]))

    assert [(u.business_id, u.resource, u.outcome) for u in report.incomplete] == [
        (first, "contacts", "failed")
    ]
    message = report.incomplete[0].message or ""
    assert "contacts: the answer has no $items list" in message and "watermark is kept" in message, message
    loaded_units = {(u.business_id, u.resource) for u in report.outcomes if u.outcome == "loaded"}
    assert loaded_units == {(first, "tax_rates"), (second, "contacts"), (second, "tax_rates")}
    contacts = loaded(tmp_path, "contacts")
    assert contacts and {row["business_id"] for row in contacts} == {second}


# -- money ----------------------------------------------------------------------------------------

# Each text is what Sage sent; as a JSON number the digits are written bare. Floats would lose
# the ones with more than ~16 significant digits.
MONEY = [
    ("12.345678901", "123456789012345678901234567.123456789"),
    ("123456789.123456789", "99999999999999999999999999999.999999999"),
    ("-0.000000001", "0.1"),
    ("1e-3", "-7"),
]


def test_money_as_json_numbers_and_long_strings_loads_exactly(tmp_path: Path) -> None:
    items = []
    for n, (bare, text) in enumerate(MONEY):
        items.append(contact(n, credit_limit=text) | {"balance": f"@{bare}@"})
    body = page(items).encoded()[0].replace(b'"@', b"").replace(b'@"', b"")  # balance as a bare number
    assert b'"balance": 123456789.123456789' in body

    with FakeSage(contacts_only(lambda seen: Reply(200, body))) as sage:
        run_pipeline(fake_env(sage, tmp_path), tmp_path, resources=["contacts"])
    with Warehouse(tmp_path / "warehouse.duckdb") as warehouse:
        types = warehouse.types("contacts")
        rows = {r["id"]: r for r in warehouse.rows("contacts")}
    assert types["balance"] == types["credit_limit"] == "DECIMAL(38,9)"
    for n, (bare, text) in enumerate(MONEY):
        row = rows[contact(n)["id"]]
        assert isinstance(row["balance"], Decimal) and row["balance"] == Decimal(bare), (bare, row["balance"])
        assert row["credit_limit"] == Decimal(text), (text, row["credit_limit"])
    assert rows[contact(1)["id"]]["balance"] != Decimal(float("123456789.123456789"))  # a float would differ


@pytest.mark.parametrize(
    "value",
    ['"twelve"', '"12,50"', '"0.1234567891"', "0.1234567891"],
    ids=["word", "comma", "too-precise-text", "too-precise-number"],
)
def test_money_that_is_not_an_exact_amount_is_refused_not_rounded(tmp_path: Path, value: str) -> None:
    body = (
        page([contact(1, credit_limit="5.00") | {"balance": "@"}])
        .encoded()[0]
        .replace(b'"@"', value.encode())
    )
    with FakeSage(contacts_only(lambda seen: Reply(200, body))) as sage:
        code, line, _chain = failure(sage, tmp_path, resources=["contacts"])
    assert code == EXIT_SAGE and "failed (contacts.balance: a value is not a valid decimal" in line, line
    assert loaded(tmp_path, "contacts") == []


# -- auth and throttling ----------------------------------------------------------------------------


def test_401_after_a_fresh_token_is_one_error_not_a_refresh_loop(tmp_path: Path) -> None:
    refused = sage_error(401, "Unauthorized", "The access token is not valid for this resource")
    with FakeSage(lambda seen: refused if seen.path.startswith("/v3.1/") else None) as sage:
        code, line, chain = failure(sage, tmp_path, resources=["contacts"])
        asked = sage.api_requests()
        tokens = sage.tokens_issued
    # A new token did not help: only a new consent can (exit 3, "run sage-pipeline auth").
    assert any(isinstance(e, ReauthorizationError) for e in chain), chain
    assert code == EXIT_REAUTH, line
    assert "GET /v3.1/businesses was refused with a freshly refreshed token" in line, line
    assert "HTTP 401 Unauthorized: The access token" in line and "sage-pipeline auth" in line, line
    # One token for the first request, one refresh after its 401, one re-send: then it stops.
    assert tokens == 2
    assert [s.headers["authorization"] for s in asked] == ["Bearer fake-access-1", "Bearer fake-access-2"]


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_waits_what_retry_after_says(tmp_path: Path, form: str) -> None:
    def answer(seen: Seen) -> Reply:
        if len(sage.api_requests("contacts")) > 1:
            return page([contact(1)])
        wait = "1" if form == "seconds" else email.utils.formatdate(time.time() + 2, usegmt=True)
        return Reply(429, [{"$dataCode": "TooManyRequests", "$message": "slow down"}], {"Retry-After": wait})

    with FakeSage() as sage:
        sage.handler = contacts_only(answer)
        run_pipeline(fake_env(sage, tmp_path), tmp_path, resources=["contacts"])
        first, second = sage.api_requests("contacts")
    # The backoff alone (0.05 s here) would come back at once; Retry-After asks for >= 1 s.
    assert second.at - first.at >= 1.0
    assert [r["id"] for r in loaded(tmp_path, "contacts")] == ["c0001"]


# -- heavy pages failing at several sizes -------------------------------------------------------------


def test_pages_fetched_again_in_halves_never_skip_rows(tmp_path: Path) -> None:
    """Sage fails heavy ``attributes=all`` pages; each halving restarts at a page boundary.

    230 contacts. Page 2 of 200 fails, and so do pages of 100, 50 and 25 from there; pages of 12
    work from item 193 until page 18 of 12 (items 205-216) fails too, and pages of 10 finish.
    """
    everyone = [contact(n) for n in range(1, 231)]

    def answer(seen: Seen) -> Reply:
        size, number = int(seen.query["items_per_page"]), int(seen.query.get("page", "1"))
        if (size in (200, 100, 50, 25) and number > 1) or (size, number) == (12, 18):
            return sage_error(500, "UnexpectedError", "An unexpected error occurred.")
        items = everyone[(number - 1) * size : number * size]
        more = number * size < len(everyone)
        link = f"/contacts?page={number + 1}&items_per_page={size}&attributes=all" if more else None
        return page(items, next_link=link, number=number, total=len(everyone))

    with FakeSage(contacts_only(answer)) as sage:
        run_pipeline(
            fake_env(sage, tmp_path), tmp_path, resources=["contacts"], source_options={"max_retries": 1}
        )
        sizes = [int(s.query["items_per_page"]) for s in sage.api_requests("contacts")]
    assert {12, 10} <= set(sizes), sizes
    assert sorted(r["id"] for r in loaded(tmp_path, "contacts")) == [c["id"] for c in everyone]
