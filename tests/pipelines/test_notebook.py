"""The cash-flow notebook, executed by papermill on a real load built by dbt (seed 7, two businesses),
checked against what Sage itself says: each bank's balance, what customers owe and who is overdue.

The notebook writes the rows behind each chart as CSV beside its PNG; the tests read those files,
so they check what the notebook computed and drew, not only that it ran.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import socket
import struct
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import nbformat
import pytest

from pipelines.notebook import (
    NOTEBOOK,
    NotebookCellError,
    NotebookReport,
    NotebookRequest,
    run_notebooks,
)
from pipelines.runner import run
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.load_warehouse import NOW
from testkit.marts_builds import INVOICES, Built
from testkit.pipeline_env import cli, connect, one_error_line, patched_env
from testkit.postgres_server import LOADER, LOADER_PASSWORD, available, create_database, postgres_server

CHARTS = (
    "1_cash_position_per_bank",
    "2_monthly_cash_flow_by_line",
    "3_cash_forecast_13_weeks",
    "4_ar_aging_by_month_end",
    "5_dso_and_cei_by_month",
    "6_top_overdue_customers",
)
PARAMETERS = {"database", "business", "start_date", "end_date", "minimum_cash", "top_customers", "output_dir"}

# What Sage says customers owe, per business: every posted sales document's base-currency outstanding
# amount as Sage reports it (credits negative), payments on account included. Read from the load.
SAGE_OWED = """
    with documents as (
        select business_id, contact__id as contact_id, due_date, base_currency_outstanding_amount as owed
        from sage.sales_invoices where not is_deleted and status__id <> 'VOID'
        union all
        select business_id, contact__id, null, -base_currency_outstanding_amount
        from sage.sales_credit_notes where not is_deleted and status__id <> 'VOID'
        union all
        select business_id, contact__id, due_date,
               if(quick_entry_type__id = 'CREDIT_NOTE', -1, 1) * base_currency_outstanding_amount
        from sage.sales_quick_entries where not is_deleted
        union all
        select business_id, contact__id, null, -payment_on_account__base_currency_outstanding_amount
        from sage.contact_payments
        where not is_deleted and transaction_type__id = 'CUSTOMER_RECEIPT'
          and payment_on_account__id is not null
    )
"""


@pytest.fixture(scope="module")
def seed7(builds: Callable[[int], Built]) -> Built:
    built = builds(7)
    assert built.report.ok, built.report.failures
    return built


@pytest.fixture(scope="module")
def reports(seed7: Built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookReport]:
    """The notebook run for every business of the load, as `sage-pipeline notebook` runs it."""
    out = tmp_path_factory.mktemp("reports")
    return {r.business_id: r for r in run_notebooks(NotebookRequest(database=seed7.database, out_dir=out))}


def rows(report: NotebookReport, chart: str) -> list[dict[str, str]]:
    with (report.html.parent / "charts" / f"{chart}.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def sage_bank_balances(built: Built, business_id: str) -> dict[str, Decimal]:
    found = built.query(
        "select bank_account_details__account_name, balance from sage.bank_accounts "
        f"where business_id = '{business_id}' and not is_deleted"
    )
    return {str(name): Decimal(str(balance)) for name, balance in found}


def one_business(built: Built, tmp_path: Path, notebook: Path) -> NotebookRequest:
    """A changed copy of the notebook, run for Cascade Goods Inc. into ``tmp_path / "out"``."""
    return NotebookRequest(
        database=built.database,
        out_dir=tmp_path / "out",
        businesses=["Cascade Goods Inc."],
        notebook=notebook,
    )


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_every_business_gets_a_page_with_six_titled_charts(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    businesses = {
        str(i): str(n) for i, n in seed7.query("select business_id, name from staging.stg_sage__businesses")
    }
    assert set(reports) == set(businesses) and len(reports) == 2
    for business_id, report in reports.items():
        assert report.business_name == businesses[business_id]
        assert [chart.stem for chart in report.charts] == list(CHARTS)
        for chart in report.charts:
            width, height = png_size(chart)
            assert width >= 800 and height >= 300, (chart, width, height)
            assert rows(report, chart.stem), f"{chart.stem} was drawn from no rows"
        page = report.html.read_text()
        assert page.count("<img ") == len(CHARTS) and page.count('src="data:image/png;base64,') == len(CHARTS)
        currency = report.summary["currency"]
        for title in ("Cash position per bank account", "13-week cash forecast", "Days sales outstanding"):
            assert f'alt="{title}' in page, title  # each chart titled, the title its alternative text
        assert f"({currency})" in page and report.business_name in page
        assert "import duckdb" not in page  # the page is the report; the code stays in the .ipynb
        executed = nbformat.read(report.executed, as_version=4)
        errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == []


def test_the_cash_series_ends_at_each_banks_balance_in_sage(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    for business_id, report in reports.items():
        last: dict[str, dict[str, str]] = {}
        for row in rows(report, "1_cash_position_per_bank"):
            last[row["bank_account_name"]] = row  # the CSV is ordered by bank, then day
        sage = sage_bank_balances(seed7, business_id)
        assert {bank: Decimal(row["closing_balance"]) for bank, row in last.items()} == sage
        assert {row["date_day"][:10] for row in last.values()} == {report.summary["as_of_date"]}
        assert Decimal(report.summary["cash_total"]) == sum(sage.values(), Decimal(0))


def test_the_aging_sums_to_what_sage_says_customers_owe(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    owed = {
        str(business): Decimal(str(amount))
        for business, amount in seed7.query(
            f"{SAGE_OWED} select business_id, sum(owed) from documents group by 1"
        )
    }
    buckets = ("current_amount", "d1_30", "d31_60", "d61_90", "d90_plus", "unallocated_credits")
    for business_id, report in reports.items():
        aging = rows(report, "4_ar_aging_by_month_end")
        assert len(aging) == 13 and aging[-1]["is_latest"] == "True"  # twelve month-ends and today
        for row in aging:  # the stacked bars add up to what is owed at each date
            assert sum(Decimal(row[b]) for b in buckets) == Decimal(row["total_outstanding"]), row
        assert Decimal(aging[-1]["total_outstanding"]) == owed[business_id]
        assert Decimal(report.summary["ar_open"]) == owed[business_id]


def test_the_top_overdue_customers_are_those_sage_shows_most_overdue(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    for business_id, report in reports.items():
        as_of = report.summary["as_of_date"]
        truth = seed7.query(
            f"{SAGE_OWED} select contacts.name, sum(documents.owed) as overdue from documents "
            "join sage.contacts as contacts on contacts.id = documents.contact_id "
            f"where documents.business_id = '{business_id}' and documents.due_date < date '{as_of}' "
            "group by 1 having sum(documents.owed) > 0 order by overdue desc, contacts.name limit 10"
        )
        shown = [
            (row["contact_name"], Decimal(row["overdue"])) for row in rows(report, "6_top_overdue_customers")
        ]
        assert shown == [(str(name), Decimal(str(amount))) for name, amount in truth]


def test_the_monthly_cash_flow_explains_each_months_change_in_cash(
    reports: dict[str, NotebookReport],
) -> None:
    for report in reports.values():
        cash_by_day: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows(report, "1_cash_position_per_bank"):
            cash_by_day[row["date_day"][:10]] += Decimal(row["closing_balance"])
        net_by_month: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows(report, "2_monthly_cash_flow_by_line"):
            assert row["cash_flow_line"] != "internal_transfers"
            net_by_month[row["month_end"][:10]] += Decimal(row["net_cash_flow"])
        months = sorted(net_by_month)
        checked = 0
        for previous, month in itertools.pairwise(months):
            if previous in cash_by_day and month in cash_by_day:
                assert net_by_month[month] == cash_by_day[month] - cash_by_day[previous], month
                checked += 1
        assert checked >= 10


def test_the_forecast_starts_from_cash_today_and_rolls_forward(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    for business_id, report in reports.items():
        weeks = rows(report, "3_cash_forecast_13_weeks")
        assert [int(w["week_number"]) for w in weeks] == list(range(1, 14))
        assert Decimal(weeks[0]["opening_cash"]) == sum(sage_bank_balances(seed7, business_id).values())
        for week, following in itertools.pairwise(weeks):
            receipts = Decimal(week["expected_receipts_ar"]) + Decimal(week["recurring_receipts"])
            payments = Decimal(week["expected_payments_ap"]) + Decimal(week["recurring_payments"])
            assert Decimal(week["closing_cash"]) == Decimal(week["opening_cash"]) + receipts - payments
            assert Decimal(following["opening_cash"]) == Decimal(week["closing_cash"])
        lowest = min(weeks, key=lambda w: Decimal(w["closing_cash"]))
        assert Decimal(report.summary["forecast_lowest_closing_cash"]) == Decimal(lowest["closing_cash"])


def test_the_forecast_is_drawn_with_its_backtest_error_and_recurring_lines_apart(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    """The band around the forecast is ± the backtest's mean absolute error from the accuracy mart,
    the summary carries that error, and the recurring flows are their own columns of the chart's rows."""
    for business_id, report in reports.items():
        [(mae, pct)] = seed7.query(
            "select mae, mae_pct_of_average_cash from marts.rpt_cash_forecast_accuracy "
            f"where business_id = '{business_id}'"
        )
        assert mae is not None and Decimal(str(mae)) > 0, business_id  # two years of books: a backtest
        assert Decimal(report.summary["forecast_backtest_mae"]) == Decimal(str(mae))
        assert Decimal(report.summary["forecast_backtest_mae_pct_of_average_cash"]) == Decimal(str(pct))
        weeks = rows(report, "3_cash_forecast_13_weeks")
        for week in weeks:
            closing = Decimal(week["closing_cash"])
            assert Decimal(week["band_low"]) == closing - Decimal(str(mae))
            assert Decimal(week["band_high"]) == closing + Decimal(str(mae))
        assert sum(Decimal(w["recurring_payments"]) for w in weeks) > 0  # payroll, rent, tax at least


def test_the_notebooks_headline_figures_are_the_headline_mart_s(
    seed7: Built, reports: dict[str, NotebookReport]
) -> None:
    """With its default period (up to the day the books were read) the notebook leads with the same
    figures as ``marts.rpt_headline_figures``, which ``sage-pipeline run`` and the demo print: one
    figure, whoever reads it."""
    names = ("cash_on", "cash_total", "ar_on", "ar_open", "ar_overdue", "forecast_lowest_closing_cash")
    counts = ("forecast_lowest_week", "forecast_weeks_below_minimum")
    kpis = ("dso_simple as dso_last_full_month", "cei as cei_last_full_month")
    found = seed7.query(
        f"select business_id, {', '.join((*names, *counts, *kpis))} "
        "from marts.rpt_headline_figures order by 1"
    )
    assert sorted(reports) == [row[0] for row in found]
    for business_id, *values in found:
        summary = reports[str(business_id)].summary
        kpi_names = ("dso_last_full_month", "cei_last_full_month")
        mart = dict(zip((*names, *counts, *kpi_names), values, strict=True))
        assert {n: str(mart[n])[:10] for n in ("cash_on", "ar_on")} == {
            n: summary[n] for n in ("cash_on", "ar_on")
        }
        amounts = ("cash_total", "ar_open", "ar_overdue", "forecast_lowest_closing_cash")
        assert {n: Decimal(str(mart[n])) for n in amounts} == {n: Decimal(summary[n]) for n in amounts}
        assert {n: mart[n] for n in counts} == {n: summary[n] for n in counts}
        assert {n: Decimal(str(mart[n])) for n in kpi_names} == {n: Decimal(summary[n]) for n in kpi_names}


def test_a_broken_cell_fails_naming_the_cell_and_the_error(seed7: Built, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    broken = next(cell for cell in notebook.cells if "marts.fct_cash_position_daily" in cell.source)
    broken.source = broken.source.replace("marts.fct_cash_position_daily", "marts.fct_cash_position_hourly")
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(NotebookCellError) as failure:
        run_notebooks(one_business(seed7, tmp_path, path))
    message = str(failure.value)
    assert "failed in cell In [" in message and "cash_position = query(" in message
    assert "CatalogException" in message and "fct_cash_position_hourly" in message
    executed = tmp_path / "out" / "cascade-goods-inc" / "broken.ipynb"
    assert str(executed) in message and "fct_cash_position_hourly" in executed.read_text()  # kept, to read
    assert not (tmp_path / "out" / "cascade-goods-inc" / "broken.html").exists()  # no page from a broken run


def test_the_kernel_never_sees_the_pipelines_secrets(
    seed7: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__SAGE_ACCOUNTING__CLIENT_SECRET", "top-secret-client")
    monkeypatch.setenv("SOURCES__SAGE_ACCOUNTING__REFRESH_TOKEN", "top-secret-refresh")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "import os\n"
            "leaked = sorted(k for k in os.environ if k.startswith(('SOURCES__', 'DESTINATION__')))\n"
            "raise RuntimeError(f'kernel environment: {leaked}')"
        )
    )
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(NotebookCellError) as failure:
        run_notebooks(one_business(seed7, tmp_path, path))
    assert "RuntimeError: kernel environment: []" in str(failure.value)
    folder = tmp_path / "out" / "cascade-goods-inc"
    for written in folder.rglob("*"):
        if written.is_file():
            assert "top-secret" not in written.read_text(errors="ignore"), written


def test_the_cli_runs_one_business_by_name_for_a_period_with_a_minimum_cash(
    seed7: Built, tmp_path: Path
) -> None:
    name = "Northwind Trading Ltd"
    (business_id,) = seed7.query(
        f"select business_id from staging.stg_sage__businesses where name = '{name}'"
    )[0]
    closings = [
        row[0]
        for row in seed7.query(
            f"select closing_cash from marts.fct_cash_forecast_13w where business_id = '{business_id}' "
            "and not is_beyond_horizon order by closing_cash"
        )
    ]
    floor = Decimal(str(closings[len(closings) // 2]))  # some weeks fall below it, others do not
    result = cli(
        "notebook", "--duckdb", str(seed7.database), "--business", name, "--from", "2026-01-01",
        "--to", "2026-06-30", "--minimum-cash", str(floor), "--out", "reports",
        env=dict(os.environ), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "reports" / "northwind-trading-ltd"
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]
    assert str(folder.resolve() / "cash_flow_analysis.html") in result.stdout, result.stdout
    summary = json.loads((folder / "charts" / "summary.json").read_text())
    assert summary["period"] == ["2026-01-01", "2026-06-30"] and summary["ar_on"] == "2026-06-30"
    with (folder / "charts" / "1_cash_position_per_bank.csv").open(newline="") as file:
        cash = list(csv.DictReader(file))
    days = {row["date_day"][:10] for row in cash}
    assert min(days) == "2026-01-01" and max(days) == "2026-06-30"
    marts_at_end = {
        str(bank): Decimal(str(balance))
        for bank, balance in seed7.query(
            "select banks.bank_account_name, position.closing_balance "
            "from marts.fct_cash_position_daily position "
            "join marts.dim_bank_accounts banks using (business_id, bank_account_id) "
            f"where position.business_id = '{business_id}' and position.date_day = date '2026-06-30'"
        )
    }
    assert {
        r["bank_account_name"]: Decimal(r["closing_balance"])
        for r in cash
        if r["date_day"][:10] == "2026-06-30"
    } == marts_at_end
    with (folder / "charts" / "3_cash_forecast_13_weeks.csv").open(newline="") as file:
        weeks = list(csv.DictReader(file))
    below = [w["below_minimum_cash"] == "True" for w in weeks]
    assert below == [Decimal(w["closing_cash"]) < floor for w in weeks] and any(below) and not all(below)
    assert Decimal(summary["minimum_cash"]) == floor and summary["forecast_weeks_below_minimum"] == sum(below)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--duckdb", "{tmp}/missing.duckdb"], "no DuckDB file at"),
        (["--duckdb", "{raw}"], "has no marts yet: run `sage-pipeline run` (without --skip-dbt)"),
        (["--duckdb", "{db}", "--business", "Acme Widgets"], "no business 'Acme Widgets'"),
        (
            ["--duckdb", "{db}", "--from", "2026-06-01", "--to", "2026-01-01"],
            "--from 2026-06-01 is after --to",
        ),
    ],
    ids=["missing-file", "no-marts", "unknown-business", "backwards-period"],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    seed7: Built, tmp_path: Path, args: list[str], expected: str
) -> None:
    values = {"tmp": str(tmp_path), "raw": str(seed7.raw), "db": str(seed7.database)}
    argv = [a.format(**values) for a in args]
    result = cli("notebook", *argv, "--out", "reports", env=dict(os.environ), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert expected in one_error_line(result, "notebook")
    assert not (tmp_path / "reports").exists()


def test_a_bad_amount_or_date_is_refused_by_the_parser(tmp_path: Path) -> None:
    for args in (["--minimum-cash", "lots"], ["--from", "01/02/2026"]):
        result = cli("notebook", *args, env=dict(os.environ), cwd=tmp_path)
        assert result.returncode == 2 and "is not a" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_the_committed_notebook_is_clean_and_takes_papermill_parameters() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), (
        "commit it without outputs"
    )
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    assigned: dict[str, object] = {}
    exec(tagged[0].source, {}, assigned)  # the parameters cell is plain assignments
    assert set(assigned) == PARAMETERS
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    headings = [cell.source.splitlines()[0] for cell in notebook.cells if cell.cell_type == "markdown"]
    assert len([h for h in headings if h.startswith("## ")]) >= 6, headings


def test_a_reconciliation_that_did_not_tie_is_a_warning_above_the_charts(
    seed7: Built, reports: dict[str, NotebookReport], tmp_path: Path
) -> None:
    for report in reports.values():  # the books tie: no warning
        assert report.summary["reconciliations_failed"] == []
        assert "did not tie" not in report.html.read_text()

    database = tmp_path / "unreconciled.duckdb"
    shutil.copyfile(seed7.database, database)
    [(business_id,)] = seed7.query(
        "select business_id from staging.stg_sage__businesses where name = 'Cascade Goods Inc.'"
    )
    with duckdb.connect(str(database)) as db:
        db.execute(
            "insert into marts.reconciliation_failures (test_name, business_id, as_of_date, difference) "
            "values ('assert_ar_open_items_tie_to_debtors_control', ?, date '2026-10-31', 12.5)",
            [business_id],
        )
    [report] = run_notebooks(
        NotebookRequest(database=database, out_dir=tmp_path / "out", businesses=["Cascade Goods Inc."])
    )
    page = report.html.read_text()
    assert "Warning: 1 reconciliation(s) did not tie for Cascade Goods Inc." in page
    assert "assert_ar_open_items_tie_to_debtors_control" in page
    assert page.index("did not tie") < page.index("<img ")  # above the charts
    assert report.summary["reconciliations_failed"] == ["assert_ar_open_items_tie_to_debtors_control"]
    assert len(report.charts) == len(CHARTS)  # drawn all the same


def test_marts_from_an_older_version_are_one_line_asking_for_a_run(seed7: Built, tmp_path: Path) -> None:
    """A warehouse whose marts predate ``dim_businesses`` says what rebuilds them, exit 2."""
    old = tmp_path / "old.duckdb"
    shutil.copyfile(seed7.database, old)
    with duckdb.connect(str(old)) as con:
        con.execute("drop table marts.dim_businesses")
    result = cli("notebook", "--duckdb", str(old), "--out", "reports", env=dict(os.environ), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "has marts from an older sage-pipeline: run `sage-pipeline run`" in one_error_line(
        result, "notebook"
    )
    assert not (tmp_path / "reports").exists()


# -- the notebook on PostgreSQL ---------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(not available(), reason="no PostgreSQL: run scripts/ensure_postgres.sh")
WRONG_PASSWORD = "pg-wrong-9c2d"


@dataclass(frozen=True)
class OnPostgres:
    settings: dict[str, str]  # the throwaway server's SAGE_PG_*
    credentials: str  # DESTINATION__POSTGRES__CREDENTIALS: a role that must give its password


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnPostgres]:
    """The books of seed 7 the DuckDB reports were drawn from (the same sandbox, the same clock),
    loaded into PostgreSQL by the pipeline and built there by dbt, as `sage-pipeline run
    --destination postgres` does."""
    config = SandboxConfig(seed=7, invoices=INVOICES, now=NOW, frozen_clock=True)
    with postgres_server() as settings, SandboxServer(config) as server:
        credentials = create_database(settings, "books")
        connected = connect(server, tmp_path_factory.mktemp("postgres"))
        with patched_env({**connected.env, "DESTINATION__POSTGRES__CREDENTIALS": credentials}):
            report = run(connected.request(destination="postgres", build_marts=True))
        assert report.marts is not None and report.marts.ok, report.marts
        yield OnPostgres(settings, credentials)


def loader_url(settings: dict[str, str], password: str = LOADER_PASSWORD, **changes: str) -> str:
    """Credentials for the server's password role, ``port`` or ``database`` changed."""
    port, database = changes.get("port", settings["SAGE_PG_PORT"]), changes.get("database", "books")
    return f"postgresql://{LOADER}:{password}@127.0.0.1:{port}/{database}"


def figures(path: Path) -> list[dict[str, object]]:
    """A chart's CSV with each amount as a Decimal: the same figure whatever scale the database gave."""

    def value(text: str) -> object:
        try:
            return Decimal(text)
        except InvalidOperation:
            return text

    with path.open(newline="") as file:
        return [{key: value(text) for key, text in row.items()} for row in csv.DictReader(file)]


@needs_postgres
def test_the_notebook_on_postgres_gives_the_figures_it_gives_on_duckdb(
    postgres: OnPostgres, reports: dict[str, NotebookReport], tmp_path: Path
) -> None:
    env = {**os.environ, "DESTINATION__POSTGRES__CREDENTIALS": postgres.credentials}
    result = cli("notebook", "--destination", "postgres", "--out", "reports", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for on_duckdb in reports.values():
        folder = tmp_path / "reports" / on_duckdb.html.parent.name
        assert str(folder.resolve() / "cash_flow_analysis.html") in result.stdout, result.stdout
        summary = json.loads((folder / "charts" / "summary.json").read_text())
        assert summary == on_duckdb.summary
        for chart in CHARTS:  # every chart drawn from the same rows
            assert figures(folder / "charts" / f"{chart}.csv") == figures(
                on_duckdb.html.parent / "charts" / f"{chart}.csv"
            ), chart
        executed = nbformat.read(folder / "cash_flow_analysis.ipynb", as_version=4)
        injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
        assert f"postgresql://{LOADER}@127.0.0.1:{postgres.settings['SAGE_PG_PORT']}/books" in injected.source
    assert LOADER_PASSWORD not in result.stdout + result.stderr
    for written in (tmp_path / "reports").rglob("*"):
        if written.is_file():  # the pages, the executed notebooks, the charts' data, the kernels' logs
            assert LOADER_PASSWORD not in written.read_text(errors="ignore"), written


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])  # nothing listens once it is closed


@needs_postgres
@pytest.mark.parametrize(
    ("case", "code", "expected"),
    [
        ("wrong-password", 2, 'refused the connection: password authentication failed for user "loader"'),
        ("unreachable", 5, "could not be reached: Connection refused"),
        (
            "no-marts",
            2,
            "has no marts yet: run `sage-pipeline run --destination postgres` (without --skip-dbt)",
        ),
    ],
)
def test_a_postgres_that_cannot_be_read_is_one_line_and_writes_nothing(
    postgres: OnPostgres, tmp_path: Path, case: str, code: int, expected: str
) -> None:
    """As for `sage-pipeline run`: credentials the server refuses are exit 2, a server that does not
    answer exit 5 (try again later); a database without marts is exit 2 naming what builds them."""
    url = {
        "wrong-password": loader_url(postgres.settings, password=WRONG_PASSWORD),
        "unreachable": loader_url(postgres.settings, port=closed_port()),
        "no-marts": loader_url(postgres.settings, database="postgres"),  # the server's own: no marts
    }[case]
    env = {**os.environ, "DESTINATION__POSTGRES__CREDENTIALS": url}
    result = cli("notebook", "--destination", "postgres", "--out", "reports", env=env, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    line = one_error_line(result, "notebook")
    assert expected in line and WRONG_PASSWORD not in line and LOADER_PASSWORD not in line, line
    assert not (tmp_path / "reports").exists()


def test_postgres_without_credentials_names_the_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESTINATION__")}
    result = cli("notebook", "--destination", "postgres", "--out", "reports", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "missing credentials: set DESTINATION__POSTGRES__CREDENTIALS" in one_error_line(result, "notebook")
    assert not (tmp_path / "reports").exists()
