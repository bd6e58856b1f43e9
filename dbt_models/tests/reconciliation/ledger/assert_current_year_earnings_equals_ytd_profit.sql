-- R3b. The balance sheet's current-year earnings line equals the year-to-date net profit of the P&L
-- (Σ ytd income − Σ ytd expense) at every month end; the two are computed along different paths
-- (range join over the general ledger vs. the trial balance's fiscal-year window). Returns the
-- business-months where they differ or where one side is missing.
{%- set tolerance = var('reconciliation_tolerance') %}

with balance_sheet as (
    select
        business_id,
        month_end,
        presentation_amount as current_year_earnings
    from {{ ref('rpt_balance_sheet_monthly') }}
    where line_type = 'current_year_earnings'
),

profit_and_loss as (
    select
        business_id,
        month_end,
        sum(case when account_class = 'income' then ytd_amount else -ytd_amount end) as ytd_net_profit
    from {{ ref('rpt_profit_and_loss_monthly') }}
    group by business_id, month_end
),

-- months with no P&L account at all still need a zero current-year line
months as (
    select business_id, month_end from {{ ref('int_ledger_months') }}
),

compared as (
    select
        months.business_id,
        months.month_end,
        balance_sheet.current_year_earnings,
        coalesce(profit_and_loss.ytd_net_profit, 0) as ytd_net_profit
    from months
    left join balance_sheet
        on months.business_id = balance_sheet.business_id
        and months.month_end = balance_sheet.month_end
    left join profit_and_loss
        on months.business_id = profit_and_loss.business_id
        and months.month_end = profit_and_loss.month_end
)

select
    business_id,
    month_end as as_of_date,
    coalesce(current_year_earnings, 0) - ytd_net_profit as difference,
    current_year_earnings,
    ytd_net_profit
from compared
where current_year_earnings is null
    or abs(current_year_earnings - ytd_net_profit) > {{ tolerance }}
