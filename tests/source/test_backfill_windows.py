"""The windows of a first load in windows (:mod:`sage_source.backfill`): every date in exactly one."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from sage_source.backfill import Backfill, Window, new_state, split, unfinished
from sage_source.outcomes import FAILED, LOADED, Outcome, per_unit
from sage_source.pages import page_total
from sage_source.settings import ENDPOINTS
from sage_source.watermarks import parse_time
from testkit.swagger_rules import swagger

DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))


def holding(windows: list[Window], day: date) -> list[Window]:
    return [w for w in windows if (w.first is None or w.first <= day) and (w.last is None or day <= w.last)]


@given(oldest=DAYS, span=st.integers(0, 4000), count=st.integers(1, 500), probe=DAYS)
def test_every_date_is_in_exactly_one_window(oldest: date, span: int, count: int, probe: date) -> None:
    newest = oldest + timedelta(days=span)
    windows = split(oldest, newest, count)
    assert 1 <= len(windows) <= min(count, span + 1)
    assert windows[0].first is None and windows[-1].last is None  # open at both ends
    for before, after in pairwise(windows):
        assert before.last is not None and after.first == before.last + timedelta(days=1)
    assert len(holding(windows, probe)) == 1
    assert len(holding(windows, oldest)) == 1 and len(holding(windows, newest)) == 1


def test_windows_are_asked_for_with_sages_date_filters() -> None:
    assert Window(None, date(2024, 3, 31)).params() == {"to_date": "2024-03-31"}
    assert Window(date(2024, 4, 1), None).params() == {"from_date": "2024-04-01"}
    assert Window(date(2024, 4, 1), date(2024, 6, 30)).params() == {
        "from_date": "2024-04-01",
        "to_date": "2024-06-30",
    }


def test_the_state_says_where_a_backfill_got_to() -> None:
    windows = split(date(2024, 1, 1), date(2024, 12, 31), 4)
    state = new_state(parse_time("2024-12-31T10:00:00Z"), windows)
    backfill = Backfill(state)
    assert backfill.windows == windows and backfill.next_window == windows[0]
    backfill.advance()
    assert backfill.next_window == windows[1] and not backfill.finished
    pipeline_state = {
        "sources": {"src": {"resources": {"sales_invoices": {"b1": {"backfill": state}, "b2": {}}}}}
    }
    assert unfinished(pipeline_state, "src") == {("sales_invoices", "b1"): 1}
    for _ in range(3):
        backfill.advance()
    assert backfill.finished


def test_a_pages_total_is_read_without_parsing_the_page() -> None:
    assert page_total(b'{"$total": 1234, "$page": 1, "$next": null, "$items": [{"$total": 5}]}') == 1234
    assert page_total(b'{"$items": [{"$total": 5}], "$total": 7}') == 7  # elsewhere: parsed
    assert page_total(b'{"$items": []}') is None


def test_the_dated_lists_are_those_sage_filters_by_date() -> None:
    """``dated`` in the endpoint table is Sage's ``from_date``/``to_date`` on the list, except on
    ``/ledger_accounts``, where they bound the balance details, not the rows listed."""
    paths = swagger()["paths"]
    filtered = {
        e.name
        for e in ENDPOINTS
        if {"from_date", "to_date"} <= {p.get("name") for p in paths[f"/{e.name}"]["get"]["parameters"]}
    }
    assert {e.name for e in ENDPOINTS if e.dated} == filtered - {"ledger_accounts"}


def test_a_run_in_passes_reports_one_outcome_per_business_and_resource() -> None:
    """Each pass of a first load in windows records its outcome; the run's is the last pass's,
    with the rows and requests of all."""
    first, last = parse_time("2026-01-01T10:00:00Z"), parse_time("2026-01-01T10:05:00Z")
    passes = [
        Outcome("b1", "sales_invoices", last, FAILED, http_status=503, rows=0, requests=9),
        Outcome("b1", "sales_invoices", first, LOADED, rows=150, requests=4),
        Outcome("b1", "contacts", first, LOADED, rows=30, requests=1),
    ]
    assert per_unit(passes) == (
        Outcome("b1", "contacts", first, LOADED, rows=30, requests=1),
        Outcome("b1", "sales_invoices", last, FAILED, http_status=503, rows=150, requests=13),
    )
