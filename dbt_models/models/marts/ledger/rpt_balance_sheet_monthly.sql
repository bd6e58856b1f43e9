-- One row per business, balance-sheet line and month end. A line is a balance-sheet ledger account or
-- one of two synthetic equity lines holding the profit and loss not (yet) closed to equity:
-- current_year_earnings (P&L of the fiscal year of THAT month end, up to it) and
-- retained_earnings_rollup (P&L of all earlier fiscal years). The split is anchored on each report
-- month's own fiscal year (as dbt_xero v1.6), so historical months do not move when a new year starts.
-- Balances are built from the general ledger with a range join (entries up to the month end), not from
-- the trial balance's running sum, so the reconciliations tying the two are an independent check.
-- If Sage ever posts year-end closing journals (P&L accounts → RETAINED_EARNINGS), the P&L legs are
-- entries of the closed year and net its P&L to zero, so the roll-up cannot double count the
-- equity account (see assert_no_year_end_closing_journals).
with months as (
    select * from {{ ref('int_ledger_months') }}
),

accounts as (
    select * from {{ ref('int_ledger_accounts_classified') }}
),

general_ledger as (
    select * from {{ ref('fct_general_ledger') }}
),

balance_sheet_activity as (
    select
        business_id,
        ledger_account_id,
        period_month_end as month_end,
        sum(net_amount) as period_net
    from general_ledger
    where statement = 'balance_sheet'
    group by business_id, ledger_account_id, period_month_end
),

profit_and_loss_activity as (
    select
        business_id,
        fiscal_year,
        period_month_end as month_end,
        sum(net_amount) as period_net
    from general_ledger
    where statement = 'profit_and_loss'
    group by business_id, fiscal_year, period_month_end
),

balance_sheet_accounts as (
    select business_id, ledger_account_id
    from accounts
    where statement = 'balance_sheet' and not is_deleted
    union
    select business_id, ledger_account_id
    from balance_sheet_activity
),

account_lines as (
    select
        months.business_id,
        balance_sheet_accounts.ledger_account_id,
        months.month_start,
        months.month_end,
        months.fiscal_year,
        coalesce(sum(balance_sheet_activity.period_net), 0) as closing_balance
    from months
    inner join balance_sheet_accounts
        on months.business_id = balance_sheet_accounts.business_id
    left join balance_sheet_activity
        on balance_sheet_accounts.business_id = balance_sheet_activity.business_id
        and balance_sheet_accounts.ledger_account_id = balance_sheet_activity.ledger_account_id
        and balance_sheet_activity.month_end <= months.month_end
    group by
        months.business_id,
        balance_sheet_accounts.ledger_account_id,
        months.month_start,
        months.month_end,
        months.fiscal_year
),

earnings as (
    select
        months.business_id,
        months.month_start,
        months.month_end,
        months.fiscal_year,
        coalesce(sum(case when profit_and_loss_activity.fiscal_year = months.fiscal_year
            then profit_and_loss_activity.period_net end), 0) as current_year_earnings,
        coalesce(sum(case when profit_and_loss_activity.fiscal_year < months.fiscal_year
            then profit_and_loss_activity.period_net end), 0) as retained_earnings_rollup
    from months
    left join profit_and_loss_activity
        on months.business_id = profit_and_loss_activity.business_id
        and profit_and_loss_activity.month_end <= months.month_end
    group by months.business_id, months.month_start, months.month_end, months.fiscal_year
),

lines as (
    select
        account_lines.business_id,
        account_lines.ledger_account_id as line_id,
        account_lines.month_start,
        account_lines.month_end,
        account_lines.fiscal_year,
        'ledger_account' as line_type,
        account_lines.ledger_account_id,
        accounts.nominal_code,
        accounts.account_name as line_name,
        accounts.account_class,
        accounts.report_section,
        accounts.ordinal,
        account_lines.closing_balance
    from account_lines
    left join accounts
        on account_lines.business_id = accounts.business_id
        and account_lines.ledger_account_id = accounts.ledger_account_id

    union all

    select
        business_id,
        'current_year_earnings' as line_id,
        month_start,
        month_end,
        fiscal_year,
        'current_year_earnings' as line_type,
        null as ledger_account_id,
        null as nominal_code,
        'Current Year Earnings' as line_name,
        'equity' as account_class,
        'equity' as report_section,
        330 as ordinal,
        current_year_earnings as closing_balance
    from earnings

    union all

    select
        business_id,
        'retained_earnings_rollup' as line_id,
        month_start,
        month_end,
        fiscal_year,
        'retained_earnings_rollup' as line_type,
        null as ledger_account_id,
        null as nominal_code,
        'Retained Earnings (profit and loss of prior fiscal years)' as line_name,
        'equity' as account_class,
        'equity' as report_section,
        320 as ordinal,
        retained_earnings_rollup as closing_balance
    from earnings
)

select
    business_id,
    line_id,
    month_start,
    month_end,
    fiscal_year,
    line_type,
    ledger_account_id,
    cast(nominal_code as bigint) as nominal_code,
    line_name,
    account_class,
    report_section,
    cast(ordinal as integer) as ordinal,
    cast(closing_balance as decimal(38, 9)) as closing_balance,
    -- liabilities and equity are credit balances: shown positive
    cast(case when account_class in ('liability', 'equity') then -closing_balance else closing_balance end
        as decimal(38, 9)) as presentation_amount
from lines
