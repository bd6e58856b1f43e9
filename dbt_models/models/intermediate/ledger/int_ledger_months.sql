-- One row per business and calendar month, from the business's first month (accounts start date or
-- first ledger entry, whichever is earlier) to the month of as_of_date(): the reporting periods of
-- the trial balance, P&L and balance sheet. Each month lies inside one fiscal year because fiscal
-- years end on a month end.
-- A table, not a view: the balances, the balance sheet and its tests each read it (computed once from the
-- calendar, not per reader).
{{ config(materialized='table') }}
with calendar as (
    select * from {{ ref('int_fiscal_calendar_daily') }}
)

select
    business_id,
    month_start,
    month_end,
    fiscal_year,
    fiscal_year_start,
    fiscal_year_end,
    fiscal_period,
    fiscal_quarter
from calendar
where is_month_end
    and date_day <= {{ month_end(as_of_date()) }}
