-- R10b. Money moved between a business's own bank accounts (transfers, deposits of cash in hand, card
-- payoffs) is neither earned nor spent: per business and month, the internal_transfer pieces of
-- fct_cash_transactions sum to zero across all its bank accounts. Returns the business-months where they do not.
{%- set tolerance = var('reconciliation_tolerance') %}

with

cash_transactions as (
    select * from {{ ref('fct_cash_transactions') }}
    where cash_flow_activity = 'internal_transfer'
),

transfers as (
    select
        business_id,
        month_end,
        sum(case when cash_amount > 0 then cash_amount else 0 end) as transferred_in,
        sum(case when cash_amount < 0 then -cash_amount else 0 end) as transferred_out,
        sum(cash_amount) as net_transfers
    from cash_transactions
    group by business_id, month_end
)

select
    business_id,
    month_end as as_of_date,
    net_transfers as difference,
    transferred_in,
    transferred_out
from transfers
where abs(net_transfers) > {{ tolerance }}
