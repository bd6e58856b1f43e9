"""The dbt marts on real loads: every model, contract, unit test and reconciliation passes on the
books of several seeds (two businesses each, GB and US), and the reconciliations fail when the
books are broken the ways an accountant would catch.

Each seed's sandbox is loaded over HTTP into its own DuckDB file by the real pipeline, then
``dbt build`` runs as ``sage-pipeline run`` runs it (:func:`pipelines.marts.build_marts`).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipelines.marts import DBT_PROJECT, MartsReport, MartsRequest, build_marts
from pipelines.marts_summary import print_marts_summary
from scripts.generate_dbt_staging import STAGING, generate
from testkit.marts_builds import Built, build

SEEDS = (7, 11, 23)
RECONCILIATIONS = DBT_PROJECT / "tests" / "reconciliation"


@pytest.fixture(params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def built(request: pytest.FixtureRequest, builds: Callable[[int], Built]) -> Built:
    return builds(request.param)


def test_dbt_build_passes_every_model_contract_and_test(built: Built) -> None:
    assert built.report.ok, "\n".join(built.report.failures)
    statuses = built.report.statuses
    assert statuses.get("error", 0) == 0 and statuses.get("fail", 0) == 0, statuses
    assert statuses.get("pass", 0) >= 100, statuses  # data, unit and reconciliation tests ran


def test_every_reconciliation_and_unit_test_ran_and_passed(built: Built) -> None:
    expected = {path.stem for path in RECONCILIATIONS.rglob("*.sql")}
    assert len(expected) >= 10
    ran = {
        str(r["unique_id"]).split(".")[2]: r["status"]
        for r in built.results()
        if str(r["unique_id"]).startswith("test.")
    }
    assert {name: ran.get(name) for name in expected} == dict.fromkeys(expected, "pass")
    unit = [r for r in built.results() if str(r["unique_id"]).startswith("unit_test.")]
    assert len(unit) >= 10 and all(r["status"] == "pass" for r in unit), [
        (r["unique_id"], r["status"]) for r in unit if r["status"] != "pass"
    ]


def test_marts_cover_both_businesses_of_both_countries(built: Built) -> None:
    countries = built.query(
        "select b.country_id, count(distinct g.business_id) from marts.fct_general_ledger g "
        "join staging.stg_sage__businesses b using (business_id) group by 1 order by 1"
    )
    assert countries == [("GB", 1), ("US", 1)]
    for mart in (
        "fct_cash_position_daily",
        "fct_ar_open_items",
        "fct_ap_open_items",
        "fct_cash_forecast_13w",
    ):
        (businesses,) = built.query(f"select count(distinct business_id) from marts.{mart}")[0]
        assert businesses == 2, mart


def test_money_is_decimal_in_every_mart(built: Built) -> None:
    floats = built.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' "
        "and (data_type like 'DOUBLE%' or data_type like 'FLOAT%' or data_type = 'REAL')"
    )
    assert floats == []


# -- the reconciliations can fail ------------------------------------------------------------------

Mutation = Callable[[duckdb.DuckDBPyConnection], None]


def broken_build(built: Built, tmp_path: Path, mutate: Mutation, *select: str) -> MartsReport:
    database = tmp_path / "broken.duckdb"
    shutil.copyfile(built.raw, database)
    with duckdb.connect(str(database)) as con:
        mutate(con)
    return build(database, tmp_path / "dbt", *select)


@pytest.fixture
def seed7(builds: Callable[[int], Built]) -> Built:
    """The books are broken once, on the first seed."""
    return builds(SEEDS[0])


def test_an_unmapped_ledger_account_type_fails_the_build(seed7: Built, tmp_path: Path) -> None:
    def mutate(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "update sage.ledger_accounts set ledger_account_type__id = 'BRAND_NEW_TYPE' "
            "where id = (select min(id) from sage.ledger_accounts)"
        )

    report = broken_build(seed7, tmp_path, mutate, "+int_ledger_accounts_classified")
    assert not report.ok
    assert any("relationships" in f and "ledger_account_type" in f for f in report.failures), report.failures


def test_the_key_tests_find_a_key_held_twice_or_null(seed7: Built, tmp_path: Path) -> None:
    """On DuckDB the key tests group by a hash of the key first (macros/tests.sql); a key held twice or
    null must still be found: one ledger entry loaded twice and one transaction without its id fail
    the staging key tests, and a general ledger row written twice fails the mart's."""

    def mutate(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "insert into sage.ledger_entries select * from sage.ledger_entries "
            "where id = (select min(id) from sage.ledger_entries where not coalesce(deleted, false))"
        )
        # dlt declares the key not null on DuckDB; another loader or warehouse may not
        con.execute("alter table sage.transactions alter column id drop not null")
        con.execute(
            "update sage.transactions set id = null where id = (select max(id) from sage.transactions)"
        )

    report = broken_build(seed7, tmp_path, mutate, "stg_sage__ledger_entries", "stg_sage__transactions")
    assert {
        "primary_key_stg_sage__ledger_entries_business_id__ledger_entry_id",
        "primary_key_stg_sage__transactions_business_id__transaction_id",
    } <= _failed_tests(report), report.failures

    built = tmp_path / "built.duckdb"
    shutil.copyfile(seed7.database, built)
    with duckdb.connect(str(built)) as con:
        con.execute("insert into marts.fct_general_ledger select * from marts.fct_general_ledger limit 1")
    key_tests = "fct_general_ledger,test_name:unique_combination_of_columns"
    report = build(built, tmp_path / "dbt_built", key_tests)
    assert _failed_tests(report) == {
        "unique_combination_of_columns_fct_general_ledger_business_id__ledger_entry_id"
    }, report.failures


def test_the_marts_that_are_views_read_tables_that_refuse_a_null_key(seed7: Built, tmp_path: Path) -> None:
    """The AR/AP sides of the open items and aging, and the cash transactions, are views (a copy was
    written again in every build); a view enforces no constraint, so the tables they read must: a row
    with a null key column cannot be written to fct_open_items or rpt_aging."""
    views = {
        name
        for (name,) in seed7.query(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'VIEW'"
        )
    }
    sides = {"fct_ar_open_items", "fct_ap_open_items", "rpt_ar_aging", "rpt_ap_aging"}
    assert sides | {"fct_cash_transactions"} <= views
    keys = {
        "fct_open_items": ("business_id", "ledger_side", "as_of_date", "document_id", "outstanding_base"),
        "rpt_aging": ("business_id", "ledger_side", "as_of_date", "total_outstanding"),
    }
    database = tmp_path / "built.duckdb"
    shutil.copyfile(seed7.database, database)
    with duckdb.connect(str(database)) as con:
        for table, columns in keys.items():
            for column in columns:
                row_with_a_null = f"select * replace (null as {column}) from marts.{table} limit 1"
                with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
                    con.execute(f"insert into marts.{table} {row_with_a_null}")


def _failed_tests(report: MartsReport) -> set[str]:
    """The names of the tests a build failed (without the hash dbt appends to a long name)."""
    return {failure.split(":")[0].split()[-1].split(".")[0] for failure in report.failures}


def test_staging_is_what_the_generator_makes_of_this_load(seed7: Built) -> None:
    """The staging views are generated from a load; regenerating from this one changes nothing."""
    files = generate(seed7.raw, "sage")
    committed = {path.name: path.read_text() for path in STAGING.iterdir() if path.suffix in (".sql", ".yml")}
    assert sorted(committed) == sorted(files)
    stale = [name for name, text in files.items() if committed[name] != text]
    assert stale == [], "run python -m scripts.generate_dbt_staging on a fresh load and commit the result"


def test_broken_books_fail_the_reconciliations_an_accountant_would_run(seed7: Built, tmp_path: Path) -> None:
    """One debit grows by 1.00 on the debtors control account, and Sage's balance of one bank moves:
    the transaction no longer balances, the subledger no longer equals its control account, and the
    cash position no longer equals the bank's balance."""

    def mutate(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "update sage.ledger_entries set debit = debit + 1 where id = ("
            "  select min(e.id) from sage.ledger_entries e join sage.ledger_accounts a"
            "  on a.business_id = e.business_id and a.id = e.ledger_account__id"
            "  where a.control_name = 'DEBTORS_CONTROL' and e.debit > 0 and not e.deleted)"
        )
        con.execute(
            "update sage.bank_accounts set balance = balance + 5 "
            "where id = (select min(id) from sage.bank_accounts)"
        )

    reconciliations = (
        "assert_ledger_transactions_balance",
        "assert_ar_open_items_tie_to_debtors_control",
        "assert_cash_position_matches_sage_balance",
    )
    report = broken_build(seed7, tmp_path, mutate)  # everything: no mart may go missing
    assert not report.ok
    failed = {failure.split(":")[0].split()[-1] for failure in report.failures}
    assert set(reconciliations) <= failed, report.failures
    assert set(reconciliations) <= set(report.reconciliations_failed)
    # A reconciliation that fails is recorded, and removes no mart: nothing downstream was skipped.
    assert report.statuses.get("skipped", 0) == 0, report.statuses
    with duckdb.connect(str(tmp_path / "broken.duckdb"), read_only=True) as db:
        recorded = db.execute(
            "select test_name, count(*), count(business_id), count(difference) "
            "from marts.reconciliation_failures group by 1"
        ).fetchall()
    by_test = {
        name: (rows, with_business, with_difference)
        for name, rows, with_business, with_difference in recorded
    }
    for name in reconciliations:
        rows, with_business, _ = by_test[name]
        assert rows >= 1 and with_business == rows, (name, by_test[name])
    assert by_test["assert_cash_position_matches_sage_balance"][2] >= 1  # the 5.00 it is off by


def test_the_demo_summary_shows_each_banks_balance_and_the_aged_debtors(seed7: Built) -> None:
    out = io.StringIO()
    print_marts_summary(seed7.database, out)
    text = out.getvalue()
    for name, balance in seed7.query(
        "select b.displayed_as, b.balance from staging.stg_sage__bank_accounts b where not b.is_deleted"
    ):
        assert f"{balance:,.2f}" in text, (name, balance)
    # Overdue invoices per business, straight from the open items (not from the aging report it prints).
    for (overdue,) in seed7.query(
        "select sum(outstanding_base) from marts.fct_ar_open_items "
        "where is_latest and document_type in ('invoice', 'quick_entry_invoice') and days_past_due > 0 "
        "group by business_id"
    ):
        assert f"overdue {overdue:,.2f}" in text, overdue
    assert text.count("DSO for ") == 2


# -- what Sage does not document, and what a Read Only user cannot read -----------------------------


def test_other_control_names_build_the_same_marts(seed7: Built, tmp_path: Path) -> None:
    """Control accounts spelled otherwise, or not named at all (Sage documents neither): the roles come
    from the books' structure, and the marts are the same, row for row."""

    def mutate(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "update sage.ledger_accounts set control_name = case control_name "
            "when 'DEBTORS_CONTROL' then 'TradeDebtors' when 'CREDITORS_CONTROL' then 'TradeCreditors' "
            "else null end where control_name is not null"
        )

    report = broken_build(seed7, tmp_path, mutate)
    assert report.ok, report.failures
    with duckdb.connect(str(tmp_path / "broken.duckdb"), read_only=True) as db:
        assert db.execute(
            "select count(*) from sage.ledger_accounts where control_name like '%_CONTROL'"
        ).fetchone() == (0,)
    for mart in (
        "fct_account_balances_monthly",
        "fct_ar_open_items",
        "fct_ap_open_items",
        "rpt_cash_flow_direct_monthly",
    ):
        assert same_rows(
            seed7.database, tmp_path / "broken.duckdb", f"marts.{mart}", ignore=("control_name",)
        ), mart


def test_receivables_are_complete_without_contact_allocations(seed7: Built, tmp_path: Path) -> None:
    """A Read Only user cannot read /contact_allocations: the allocations listed on documents and
    payments make the same open items, aging and forecast, and every reconciliation passes."""
    [business] = seed7.query("select min(business_id) from sage.businesses")[0]

    def mutate(con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "delete from sage.contact_allocations__allocated_artefacts where business_id = ?", [business]
        )
        con.execute("delete from sage.contact_allocations where business_id = ?", [business])
        con.execute(  # as the source records a refusal
            "update sage.sage_resource_outcomes set outcome = 'skipped', http_status = 403 "
            "where business_id = ? and resource = 'contact_allocations'",
            [business],
        )

    report = broken_build(seed7, tmp_path, mutate)
    assert report.ok, report.failures
    for mart in ("fct_ar_open_items", "fct_ap_open_items", "rpt_ar_aging", "fct_cash_forecast_13w"):
        assert same_rows(seed7.database, tmp_path / "broken.duckdb", f"marts.{mart}"), mart


def test_a_role_that_cannot_be_found_is_one_sentence_naming_the_seed_row(
    seed7: Built, tmp_path: Path
) -> None:
    [(business, account)] = seed7.query(
        "select business_id, ledger_account_id from marts.dim_ledger_accounts "
        "where account_role = 'debtors_control' order by business_id limit 1"
    )
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    with (project / "seeds" / "sage_account_roles.csv").open("a") as seed:
        seed.write(f"{business},{account},,none\n")  # the one account that could be it, ruled out
    database = tmp_path / "w.duckdb"
    shutil.copyfile(seed7.raw, database)
    report = build_marts(
        MartsRequest(work_dir=tmp_path / "dbt", duckdb_path=str(database), project_dir=project)
    )
    assert not report.ok
    [sentence] = [f for f in report.failures if f.startswith("business ")]
    assert f"({business}): no debtors control account found" in sentence, sentence
    assert (
        "add a row to seeds/sage_account_roles.csv" in sentence and "account_role debtors_control" in sentence
    )
    assert "\n" not in sentence
    # The marts were built all the same, and the reconciliations that could not tie are recorded.
    assert report.statuses.get("skipped", 0) == 0, report.statuses
    with duckdb.connect(str(database), read_only=True) as db:
        built = db.execute("select count(distinct business_id) from marts.fct_ar_open_items").fetchone()
        recorded = db.execute(
            "select distinct test_name from marts.reconciliation_failures where business_id = ?", [business]
        ).fetchall()
    assert built == (2,)
    assert ("assert_ar_open_items_tie_to_debtors_control",) in recorded


def same_rows(left: Path, right: Path, table: str, ignore: tuple[str, ...] = ()) -> bool:
    """Whether two DuckDB files hold the same rows in ``table`` (columns in ``ignore`` left out)."""
    with duckdb.connect(":memory:") as db:
        db.execute(f"attach '{left}' as a (read_only true)")
        db.execute(f"attach '{right}' as b (read_only true)")
        columns = [
            c
            for (c,) in db.execute(f"select column_name from (describe a.{table})").fetchall()
            if c not in ignore
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        differ = db.execute(
            f"select count(*) from ("
            f"(select {listed} from a.{table} except all select {listed} from b.{table}) union all "
            f"(select {listed} from b.{table} except all select {listed} from a.{table}))"
        ).fetchone()
        rows = db.execute(f"select count(*) from a.{table}").fetchone()
    return differ == (0,) and rows is not None and rows[0] > 0
