-- Daily bank positions form an unbroken chain: per bank account, every day from the first to as_of_date()
-- is present once, the first day opens at zero, and each day opens with the previous day's closing balance.
-- Returns the bank-days that break the chain.
{%- set tolerance = var('reconciliation_tolerance') %}

with

cash_position_daily as (
    select * from {{ ref('fct_cash_position_daily') }}
),

chained as (
    select
        business_id,
        bank_account_id,
        date_day,
        opening_balance,
        closing_balance,
        lag(date_day) over (partition by business_id, bank_account_id order by date_day) as previous_day,
        lag(closing_balance) over (partition by business_id, bank_account_id order by date_day) as previous_closing,
        max(date_day) over (partition by business_id, bank_account_id) as last_day
    from cash_position_daily
)

select
    business_id,
    date_day as as_of_date,
    opening_balance - coalesce(previous_closing, 0) as difference,
    bank_account_id,
    opening_balance,
    closing_balance,
    previous_day,
    previous_closing,
    last_day
from chained
where (previous_day is null and abs(opening_balance) > {{ tolerance }})
    or (previous_day is not null and previous_day <> date_day - 1)
    or (previous_day is not null and abs(opening_balance - previous_closing) > {{ tolerance }})
    or last_day <> {{ as_of_date() }}
