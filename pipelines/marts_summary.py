"""The few lines an analyst looks at first, read from the marts: cash today per bank, overdue
receivables by aging bucket, last month's DSO, and how far off the cash forecast has been.
``make demo`` ends with them. The figures are
computed in dbt (marts.rpt_headline_figures); this module only prints them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import duckdb

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")

# The headline figures are computed once, in marts.rpt_headline_figures (one row per business); this
# lists each bank account's closing balance on the day that mart's cash_total is taken at.
CASH_TODAY = """
    select
        headlines.business_name, banks.bank_account_name, banks.currency_id,
        position.closing_balance, position.date_day
    from marts.fct_cash_position_daily as position
    inner join marts.dim_bank_accounts as banks using (business_id, bank_account_id)
    inner join marts.rpt_headline_figures as headlines
        on position.business_id = headlines.business_id and position.date_day = headlines.cash_on
    order by headlines.business_name, position.closing_balance desc
"""

# The aged debtors report summed per business: invoices by days past due, credits (credit notes,
# payments on account) apart.
AR_BY_BUCKET = """
    select
        business_name, base_currency_id, ar_current, ar_d1_30, ar_d31_60, ar_d61_90, ar_d90_plus,
        ar_overdue, ar_unallocated_credits
    from marts.rpt_headline_figures
    where ar_on is not null
    order by business_name
"""

LAST_MONTH_KPIS = """
    select business_name, kpi_month_end, dso_simple, dso_countback, cei
    from marts.rpt_headline_figures
    where kpi_month_end is not null
    order by business_name
"""

# The 13-week forecast's backtest: made at each of the last month-ends, against the cash that followed.
FORECAST_ACCURACY = """
    select
        businesses.business_name, businesses.base_currency_id, accuracy.origins_compared, accuracy.mae,
        accuracy.mae_pct_of_average_cash, accuracy.naive_mae_pct_of_average_cash
    from marts.rpt_cash_forecast_accuracy as accuracy
    inner join marts.dim_businesses as businesses using (business_id)
    order by businesses.business_name
"""

# What did not tie when the marts were built (dbt's on-run-end hook records it; none when all tied).
RECONCILIATION_FAILURES = """
    select
        coalesce(businesses.business_name, failures.business_id, 'all businesses'),
        failures.test_name,
        count(*)
    from marts.reconciliation_failures as failures
    left join marts.dim_businesses as businesses using (business_id)
    group by all
    order by 1, 2
"""


def print_marts_summary(database: Path, out: TextIO) -> None:
    with duckdb.connect(str(database), read_only=True) as db:
        cash = db.execute(CASH_TODAY).fetchall()
        aging = db.execute(AR_BY_BUCKET).fetchall()
        kpis = db.execute(LAST_MONTH_KPIS).fetchall()
        accuracy = db.execute(FORECAST_ACCURACY).fetchall()
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
        *buckets, overdue, credits = amounts
        cells = "  ".join(f"{name} {amount:,.2f}" for name, amount in zip(BUCKETS, buckets, strict=True))
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
    _print_forecast_accuracy(accuracy, out)

    if failures:
        print("\nReconciliations that did not tie (marts.reconciliation_failures):", file=out)
    for business, test, rows in failures:
        print(f"   {business:<28} {test} ({rows} row{'s' if rows != 1 else ''})", file=out)


def _print_forecast_accuracy(accuracy: list[tuple[Any, ...]], out: TextIO) -> None:
    """Per business, the forecast's backtest error, or that there is no history to measure it on."""
    if accuracy:
        print("\n13-week cash forecast, backtested (mean absolute error of weekly closing cash):", file=out)
    for business, currency, origins, mae, pct, naive in accuracy:
        if mae is None:
            print(f"   {business:<28} no month-end with history to backtest from yet", file=out)
            continue
        print(
            f"   {business:<28} {currency} {mae:,.2f}, {_days(pct, '%')} of average cash over {origins} "
            f"month-ends (cash assumed flat: {_days(naive, '%')})",
            file=out,
        )


def _days(value: Decimal | None, unit: str = " days") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"
