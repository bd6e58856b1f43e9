-- R12a: the 13-week forecast starts from the cash actually in the bank. An accountant checks that week 1's
-- opening cash equals the sum of every bank account's closing balance on the snapshot date, per business.
-- Returns the businesses where they differ (or where one side is missing).
with

forecast_week_1 as (
    select
        business_id,
        snapshot_date,
        opening_cash
    from {{ ref('fct_cash_forecast_13w') }}
    where week_number = 1
),

bank_balances as (
    select
        cash.business_id,
        sum(cash.closing_balance) as bank_closing_balance
    from {{ ref('fct_cash_position_daily') }} as cash
    where cash.date_day = {{ as_of_date() }}
    group by cash.business_id
)

select
    coalesce(forecast_week_1.business_id, bank_balances.business_id) as business_id,
    coalesce(forecast_week_1.snapshot_date, {{ as_of_date() }}) as as_of_date,
    coalesce(forecast_week_1.opening_cash, 0) - coalesce(bank_balances.bank_closing_balance, 0) as difference,
    forecast_week_1.opening_cash,
    bank_balances.bank_closing_balance
from forecast_week_1
full outer join bank_balances
    on forecast_week_1.business_id = bank_balances.business_id
where forecast_week_1.business_id is null
    or abs(coalesce(forecast_week_1.opening_cash, 0) - coalesce(bank_balances.bank_closing_balance, 0))
        > {{ var('reconciliation_tolerance') }}
