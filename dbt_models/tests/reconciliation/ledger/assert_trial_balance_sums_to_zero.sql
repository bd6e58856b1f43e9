-- R2. Trial balance: for every business and month end, the closing balances of all ledger accounts
-- (debits positive) sum to zero, and so do the opening balances and the month's movements.
-- Returns the business-months that do not.
{%- set tolerance = var('reconciliation_tolerance') %}

with balances as (
    select * from {{ ref('fct_account_balances_monthly') }}
),

totals as (
    select
        business_id,
        month_end,
        sum(opening_balance) as total_opening,
        sum(period_debit) as total_debit,
        sum(period_credit) as total_credit,
        sum(closing_balance) as total_closing
    from balances
    group by business_id, month_end
)

select
    business_id,
    month_end as as_of_date,
    total_closing as difference,
    total_opening,
    total_debit,
    total_credit,
    total_closing
from totals
where abs(total_closing) > {{ tolerance }}
    or abs(total_opening) > {{ tolerance }}
    or abs(total_debit - total_credit) > {{ tolerance }}
