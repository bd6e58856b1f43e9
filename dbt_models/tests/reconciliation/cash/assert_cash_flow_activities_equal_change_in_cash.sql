-- R10c. The cash-flow statement adds up: per business and month, net cash from operating + investing +
-- financing activities in rpt_cash_flow_direct_monthly = closing cash − opening cash (all bank accounts),
-- and Σ net_cash_flow over every line (internal transfers included) is that change too. Returns the
-- business-months where the statement does not explain the change in cash.
{%- set tolerance = var('reconciliation_tolerance') %}

with

cash_flow as (
    select * from {{ ref('rpt_cash_flow_direct_monthly') }}
),

months as (
    select
        business_id,
        month_end,
        sum(case when cash_flow_activity = 'operating' then net_cash_flow else 0 end) as operating,
        sum(case when cash_flow_activity = 'investing' then net_cash_flow else 0 end) as investing,
        sum(case when cash_flow_activity = 'financing' then net_cash_flow else 0 end) as financing,
        sum(net_cash_flow) as all_lines,
        max(opening_cash) as opening_cash,
        max(closing_cash) as closing_cash
    from cash_flow
    group by business_id, month_end
)

select
    business_id,
    month_end as as_of_date,
    operating + investing + financing - (closing_cash - opening_cash) as difference,
    operating,
    investing,
    financing,
    all_lines,
    opening_cash,
    closing_cash
from months
where abs(operating + investing + financing - (closing_cash - opening_cash)) > {{ tolerance }}
    or abs(all_lines - (closing_cash - opening_cash)) > {{ tolerance }}
