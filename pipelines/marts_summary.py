"""The few lines an analyst looks at first, read from the marts: cash today per bank, overdue
receivables by aging bucket, and last month's DSO. ``make demo`` ends with them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TextIO

import duckdb

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")

CASH_TODAY = """
    select
        businesses.name, banks.bank_account_name, banks.currency_id,
        position.closing_balance, position.date_day
    from marts.fct_cash_position_daily as position
    inner join marts.dim_bank_accounts as banks using (business_id, bank_account_id)
    inner join staging.stg_sage__businesses as businesses using (business_id)
    where position.date_day = (select max(date_day) from marts.fct_cash_position_daily)
    order by businesses.name, position.closing_balance desc
"""

# The aged debtors report: invoices by days past due, credits (credit notes, payments on account) apart.
AR_BY_BUCKET = """
    select
        businesses.name, settings.base_currency_id, sum(aging.current_amount), sum(aging.d1_30),
        sum(aging.d31_60), sum(aging.d61_90), sum(aging.d90_plus), sum(aging.unallocated_credits)
    from marts.rpt_ar_aging as aging
    inner join staging.stg_sage__businesses as businesses using (business_id)
    inner join staging.stg_sage__financial_settings as settings using (business_id)
    where aging.is_latest
    group by businesses.name, settings.base_currency_id
    order by businesses.name
"""

LAST_MONTH_KPIS = """
    select businesses.name, kpis.month_end, kpis.dso_simple, kpis.dso_countback, kpis.cei
    from marts.fct_receivables_kpis_monthly as kpis
    inner join staging.stg_sage__businesses as businesses using (business_id)
    where kpis.month_end = (
        select max(month_end) from marts.fct_receivables_kpis_monthly
        where month_end < (select max(as_of_date) from marts.fct_ar_open_items)
    )
    order by businesses.name
"""


# What did not tie when the marts were built (dbt's on-run-end hook records it; none when all tied).
RECONCILIATION_FAILURES = """
    select coalesce(businesses.name, failures.business_id, 'all businesses'), failures.test_name, count(*)
    from marts.reconciliation_failures as failures
    left join staging.stg_sage__businesses as businesses using (business_id)
    group by all
    order by 1, 2
"""


def print_marts_summary(database: Path, out: TextIO) -> None:
    with duckdb.connect(str(database), read_only=True) as db:
        cash = db.execute(CASH_TODAY).fetchall()
        aging = db.execute(AR_BY_BUCKET).fetchall()
        kpis = db.execute(LAST_MONTH_KPIS).fetchall()
        recorded = db.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'reconciliation_failures'"
        ).fetchone()
        failures = db.execute(RECONCILIATION_FAILURES).fetchall() if recorded and recorded[0] else []
    if cash:
        print(f"\nCash today ({cash[0][4]}), per bank account:", file=out)
    for business, bank, currency, balance, _ in cash:
        print(f"   {business:<28} {bank:<28} {currency} {balance:>16,.2f}", file=out)
    print(f"\nReceivables by aging bucket (days past due; {', '.join(BUCKETS)}):", file=out)
    for business, currency, *amounts in aging:
        *buckets, credits = amounts
        cells = "  ".join(f"{name} {amount:,.2f}" for name, amount in zip(BUCKETS, buckets, strict=True))
        overdue = sum(buckets[1:], Decimal(0))
        line = f"{business:<28} {currency} overdue {overdue:,.2f}  ({cells}; credits {credits:,.2f})"
        print(f"   {line}", file=out)
    if kpis:
        print("\nLast complete month's receivables KPIs:", file=out)
    for business, month_end, dso, countback, cei in kpis:
        print(
            f"   {business:<28} DSO for {month_end:%B %Y}: {_days(dso)} (countback {_days(countback)}), "
            f"CEI {_days(cei, '%')}",
            file=out,
        )

    if failures:
        print("\nReconciliations that did not tie (marts.reconciliation_failures):", file=out)
    for business, test, rows in failures:
        print(f"   {business:<28} {test} ({rows} row{'s' if rows != 1 else ''})", file=out)


def _days(value: Decimal | None, unit: str = " days") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"
