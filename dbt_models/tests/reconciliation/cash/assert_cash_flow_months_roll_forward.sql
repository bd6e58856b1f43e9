-- R10d. Each month opens with the cash the previous month closed with: in rpt_cash_flow_direct_monthly,
-- opening_cash(month n+1) = closing_cash(month n) per business, months follow each other without gaps,
-- the first month opens at zero (nothing before the first bank entry), and every line of a month carries
-- the same opening and closing cash. Returns the business-months that break the roll-forward.
{%- set tolerance = var('reconciliation_tolerance') %}

with

cash_flow as (
    select * from {{ ref('rpt_cash_flow_direct_monthly') }}
),

months as (
    select
        business_id,
        month_end,
        min(opening_cash) as opening_cash,
        min(closing_cash) as closing_cash,
        max(opening_cash) - min(opening_cash) as opening_spread,
        max(closing_cash) - min(closing_cash) as closing_spread
    from cash_flow
    group by business_id, month_end
),

chained as (
    select
        months.*,
        lag(month_end) over (partition by business_id order by month_end) as previous_month_end,
        lag(closing_cash) over (partition by business_id order by month_end) as previous_closing_cash
    from months
)

select
    business_id,
    month_end as as_of_date,
    opening_cash - coalesce(previous_closing_cash, 0) as difference,
    opening_cash,
    closing_cash,
    opening_spread,
    closing_spread,
    previous_month_end,
    previous_closing_cash
from chained
where opening_spread <> 0
    or closing_spread <> 0
    or (previous_month_end is null and abs(opening_cash) > {{ tolerance }})
    or (previous_month_end is not null and previous_month_end <> {{ month_end(dbt.dateadd('day', -1, month_start('month_end'))) }})
    or (previous_month_end is not null and abs(opening_cash - previous_closing_cash) > {{ tolerance }})
