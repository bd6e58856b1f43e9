-- R4b. The balance sheet ties to the ledger: per business, balance-sheet account and month end, the
-- balance sheet's closing balance (range join over the general ledger) equals the trial balance's
-- (running sum over a dense spine); and the two earnings lines together equal the trial balance's
-- cumulative P&L. Returns the lines that differ or exist on one side only.
{%- set tolerance = var('reconciliation_tolerance') %}

with balance_sheet as (
    select * from {{ ref('rpt_balance_sheet_monthly') }}
),

trial_balance as (
    select * from {{ ref('fct_account_balances_monthly') }}
),

balance_sheet_lines as (
    select
        business_id,
        case when line_type = 'ledger_account' then line_id else 'profit_and_loss_to_date' end as line_id,
        month_end,
        sum(closing_balance) as balance_sheet_closing
    from balance_sheet
    group by
        business_id,
        case when line_type = 'ledger_account' then line_id else 'profit_and_loss_to_date' end,
        month_end
),

trial_balance_lines as (
    select
        business_id,
        case when statement = 'balance_sheet' then ledger_account_id else 'profit_and_loss_to_date' end as line_id,
        month_end,
        sum(closing_balance) as trial_balance_closing
    from trial_balance
    group by
        business_id,
        case when statement = 'balance_sheet' then ledger_account_id else 'profit_and_loss_to_date' end,
        month_end
),

compared as (
    select
        coalesce(balance_sheet_lines.business_id, trial_balance_lines.business_id) as business_id,
        coalesce(balance_sheet_lines.line_id, trial_balance_lines.line_id) as line_id,
        coalesce(balance_sheet_lines.month_end, trial_balance_lines.month_end) as month_end,
        balance_sheet_lines.balance_sheet_closing,
        trial_balance_lines.trial_balance_closing
    from balance_sheet_lines
    full outer join trial_balance_lines
        on balance_sheet_lines.business_id = trial_balance_lines.business_id
        and balance_sheet_lines.line_id = trial_balance_lines.line_id
        and balance_sheet_lines.month_end = trial_balance_lines.month_end
)

select
    business_id,
    month_end as as_of_date,
    coalesce(balance_sheet_closing, 0) - coalesce(trial_balance_closing, 0) as difference,
    line_id,
    balance_sheet_closing,
    trial_balance_closing
from compared
where balance_sheet_closing is null
    or trial_balance_closing is null
    or abs(balance_sheet_closing - trial_balance_closing) > {{ tolerance }}
