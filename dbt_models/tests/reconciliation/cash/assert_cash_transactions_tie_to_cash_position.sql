-- R10a. The direct cash flow explains every movement on every bank account: per bank account and month,
-- Σ fct_cash_transactions.cash_amount (all lines, internal transfers included) = the change in the bank's
-- balance over the month in fct_cash_position_daily (closing of its last day − opening of its first day).
-- Returns the bank-months where cash moved that the cash-flow statement does not show, or vice versa.
{%- set tolerance = var('reconciliation_tolerance') %}

with

cash_transactions as (
    select * from {{ ref('fct_cash_transactions') }}
),

cash_position_daily as (
    select * from {{ ref('fct_cash_position_daily') }}
),

flows as (
    select
        business_id,
        bank_account_id,
        month_end,
        sum(cash_amount) as cash_flow
    from cash_transactions
    group by business_id, bank_account_id, month_end
),

position_months as (
    select
        business_id,
        bank_account_id,
        {{ month_end('date_day') }} as month_end,
        min(date_day) as first_day,
        max(date_day) as last_day
    from cash_position_daily
    group by business_id, bank_account_id, {{ month_end('date_day') }}
),

balance_changes as (
    select
        position_months.business_id,
        position_months.bank_account_id,
        position_months.month_end,
        closing.closing_balance - opening.opening_balance as balance_change
    from position_months
    inner join cash_position_daily as opening
        on position_months.business_id = opening.business_id
        and position_months.bank_account_id = opening.bank_account_id
        and position_months.first_day = opening.date_day
    inner join cash_position_daily as closing
        on position_months.business_id = closing.business_id
        and position_months.bank_account_id = closing.bank_account_id
        and position_months.last_day = closing.date_day
),

compared as (
    select
        coalesce(flows.business_id, balance_changes.business_id) as business_id,
        coalesce(flows.bank_account_id, balance_changes.bank_account_id) as bank_account_id,
        coalesce(flows.month_end, balance_changes.month_end) as month_end,
        flows.cash_flow,
        balance_changes.balance_change,
        coalesce(flows.cash_flow, 0) - coalesce(balance_changes.balance_change, 0) as difference,
        balance_changes.month_end is null as month_missing_from_position
    from flows
    full outer join balance_changes
        on flows.business_id = balance_changes.business_id
        and flows.bank_account_id = balance_changes.bank_account_id
        and flows.month_end = balance_changes.month_end
)

select
    business_id,
    month_end as as_of_date,
    difference,
    bank_account_id,
    cash_flow,
    balance_change,
    month_missing_from_position
from compared
where abs(difference) > {{ tolerance }}
    or month_missing_from_position
