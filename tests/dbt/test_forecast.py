"""The cash forecast's method on real loads: the backtest's forecasts use only what was known at their
origin, every business gets a backtest figure, and a business with no history still gets a forecast
(from the fallbacks) and an empty backtest without failing a test.

Books are loaded over HTTP from the sandbox by the real pipeline and built by ``dbt build``
(:func:`pipelines.marts.build_marts`), as ``sage-pipeline run`` does.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.marts import MartsRequest, build_marts
from pipelines.marts_summary import print_marts_summary
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.load_warehouse import NOW
from testkit.marts_builds import Built, build
from testkit.pipeline_env import connect

BACKTEST_MONTHS = 6  # dbt var forecast_backtest_months


@pytest.fixture(scope="module")
def seed7(builds: Callable[[int], Built]) -> Built:
    built = builds(7)
    assert built.report.ok, built.report.failures
    return built


@pytest.fixture(scope="module")
def no_history(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Two businesses that started ten days ago and have not issued an invoice: no paid invoices, no
    month-end, barely any cash history."""
    home = tmp_path_factory.mktemp("no_history")
    config = SandboxConfig(seed=5, invoices=0, history_days=10, now=NOW, frozen_clock=True)
    raw = home / "raw.duckdb"
    with SandboxServer(config) as server, tempfile.TemporaryDirectory() as pipeline_home:
        connected = connect(server, Path(pipeline_home))
        connected.run()
        shutil.copyfile(connected.database, raw)
    database = home / "warehouse.duckdb"
    shutil.copyfile(raw, database)
    return Built(0, database, raw, build(database, home / "dbt"))


def test_a_business_without_history_gets_a_forecast_and_an_empty_backtest(no_history: Built) -> None:
    assert no_history.report.ok, no_history.report.failures
    statuses = no_history.report.statuses
    assert statuses.get("error", 0) == 0 and statuses.get("fail", 0) == 0 and statuses.get("warn", 0) == 0
    businesses = {row[0] for row in no_history.query("select business_id from marts.dim_businesses")}
    assert len(businesses) == 2
    weeks = no_history.query(
        "select business_id, count(*), min(week_number), max(week_number) "
        "from marts.fct_cash_forecast_13w group by business_id"
    )
    assert {row[0]: row[1:] for row in weeks} == dict.fromkeys(businesses, (14, 1, 14))
    # Nothing to fall back from but the fallbacks: every collection probability is the default 1.
    assert no_history.query(
        "select distinct is_fallback, probability_collected from intermediate.int_collection_probability"
    ) == [(True, Decimal(1))]
    assert no_history.query("select count(*) from marts.fct_cash_forecast_backtest") == [(0,)]
    accuracy = no_history.query(
        "select business_id, origins_compared, weeks_compared, mae, mae_pct_of_average_cash "
        "from marts.rpt_cash_forecast_accuracy"
    )
    assert {row[0]: row[1:] for row in accuracy} == dict.fromkeys(businesses, (0, 0, None, None))


def test_every_business_is_backtested_at_the_last_month_ends(seed7: Built) -> None:
    accuracy = seed7.query(
        "select business_id, origins_compared, weeks_compared, mae, mae_pct_of_average_cash, naive_mae "
        "from marts.rpt_cash_forecast_accuracy order by business_id"
    )
    assert len(accuracy) == 2
    for _, origins, weeks, mae, pct, naive in accuracy:
        assert origins == BACKTEST_MONTHS and isinstance(weeks, int) and weeks > BACKTEST_MONTHS
        assert mae is not None and naive is not None and 0 < Decimal(str(pct)) < 100
    # The weeks compared are the ones that have ended: the last origin's first week at least, none later
    # than the books.
    assert seed7.query(
        "select count(*) from marts.fct_cash_forecast_backtest b "
        "where b.week_end > (select max(snapshot_date) from marts.fct_cash_forecast_13w)"
    ) == [(0,)]


def test_a_backtest_forecast_is_the_forecast_made_on_its_origin(seed7: Built, tmp_path: Path) -> None:
    """No leakage: the forecast the backtest holds for a month-end is, week for week and line for line,
    the forecast a build with as_of_date at that month-end makes (it cannot see what came after)."""
    [(origin,)] = seed7.query(
        "select max(origin_date) from intermediate.int_cash_forecast_origins where not is_latest"
    )
    database = tmp_path / "then.duckdb"
    shutil.copyfile(seed7.raw, database)
    report = build_marts(
        MartsRequest(
            work_dir=tmp_path / "dbt",
            duckdb_path=str(database),
            as_of_date=f"{origin:%Y-%m-%d}",
        )
    )
    # The one reconciliation that cannot tie in the past: Sage's outstanding amounts are today's.
    assert report.statuses.get("error", 0) == 0 and report.statuses.get("fail", 0) == 0, report.failures
    assert set(report.reconciliations_failed) <= {"assert_open_items_match_sage_outstanding"}, report.failures
    columns = (
        "business_id, week_number, opening_cash, expected_receipts_ar, expected_payments_ap, "
        "recurring_receipts, recurring_payments, doubtful_receipts_ar, closing_cash"
    )
    backtested = seed7.query(
        f"select {columns} from intermediate.int_cash_forecast_weekly "
        f"where snapshot_date = date '{origin:%Y-%m-%d}' order by business_id, week_number"
    )
    with duckdb.connect(str(database), read_only=True) as then:
        made_then = then.execute(
            f"select {columns} from marts.fct_cash_forecast_13w order by business_id, week_number"
        ).fetchall()
        lines_then = then.execute(
            "select business_id, week_number, source, amount from marts.fct_cash_forecast_lines "
            "order by 1, 2, 3"
        ).fetchall()
    assert len(backtested) == 2 * 14 and backtested == made_then
    assert (
        seed7.query(
            "select business_id, week_number, source, amount from intermediate.int_cash_forecast_lines "
            f"where snapshot_date = date '{origin:%Y-%m-%d}' order by 1, 2, 3"
        )
        == lines_then
    )


def test_the_marts_summary_prints_the_backtest_error(seed7: Built, no_history: Built) -> None:
    """``make demo`` and ``sage-pipeline run`` end with the summary: it says how far the forecast has
    been off, per business, or that there is nothing to measure yet."""
    out = io.StringIO()
    print_marts_summary(seed7.database, out)
    text = out.getvalue()
    accuracy = seed7.query(
        "select b.business_name, a.mae from marts.rpt_cash_forecast_accuracy a "
        "join marts.dim_businesses b using (business_id)"
    )
    for business, mae in accuracy:
        assert f"{business:<28} " in text and f"{Decimal(str(mae)):,.2f}, " in text, (business, mae)
    out = io.StringIO()
    print_marts_summary(no_history.database, out)
    assert out.getvalue().count("no month-end with history to backtest from yet") == 2
