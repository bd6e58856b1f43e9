-- R3a. Balance sheet equation at every month end: assets = liabilities + equity + current-year earnings
-- + retained roll-up (the P&L of earlier fiscal years not closed to equity). In debit-positive terms the
-- closing balances of all balance-sheet lines sum to zero. Returns the business-months that do not
-- balance, with the sides an accountant would compare.
{%- set tolerance = var('reconciliation_tolerance') %}

with balance_sheet as (
    select * from {{ ref('rpt_balance_sheet_monthly') }}
),

sides as (
    select
        business_id,
        month_end,
        sum(case when account_class = 'asset' then presentation_amount else 0 end) as assets,
        sum(case when account_class = 'liability' then presentation_amount else 0 end) as liabilities,
        sum(case when account_class = 'equity' and line_type = 'ledger_account' then presentation_amount else 0 end) as equity,
        sum(case when line_type = 'current_year_earnings' then presentation_amount else 0 end) as current_year_earnings,
        sum(case when line_type = 'retained_earnings_rollup' then presentation_amount else 0 end) as retained_earnings_rollup,
        count(case when line_type = 'current_year_earnings' then 1 end) as current_year_lines,
        count(case when line_type = 'retained_earnings_rollup' then 1 end) as retained_lines
    from balance_sheet
    group by business_id, month_end
)

select
    business_id,
    month_end as as_of_date,
    assets - (liabilities + equity + current_year_earnings + retained_earnings_rollup) as difference,
    assets,
    liabilities,
    equity,
    current_year_earnings,
    retained_earnings_rollup,
    current_year_lines,
    retained_lines
from sides
where abs(assets - (liabilities + equity + current_year_earnings + retained_earnings_rollup)) > {{ tolerance }}
    -- each month end must carry exactly one of each synthetic line
    or current_year_lines <> 1
    or retained_lines <> 1
