-- A table, not a view: every forecast mart, the backtest and their tests read it, and as a view each would
-- recompute the whole chain (open items at every origin, habits, probabilities, recurring history).
{{ config(materialized='table') }}
-- One row per forecast origin (int_cash_forecast_origins), business and week: the 13-week cash forecast as
-- of that origin, rolled forward from the bank balances at the close of the origin date
-- (fct_cash_position_daily) with the week's flows (int_cash_forecast_lines), plus week forecast_weeks + 1
-- "beyond the horizon" that collects the documents expected later, so the weeks add up to the open items.
-- Week 1 starts on the origin date, not on a Monday; each week is 7 days. fct_cash_forecast_13w is today's
-- origin, fct_cash_forecast_backtest the month-end origins against what followed: one SQL path for both.
with

origins as (
    select business_id, origin_date, is_latest from {{ ref('int_cash_forecast_origins') }}
),

financial_settings as (
    select
        business_id,
        base_currency_id
    from {{ ref('stg_sage__financial_settings') }}
),

cash_position_daily as (
    select
        business_id,
        date_day,
        closing_balance
    from {{ ref('fct_cash_position_daily') }}
),

lines as (
    select * from {{ ref('int_cash_forecast_lines') }}
),

week_numbers as (
    select cast(generated_number as integer) as week_number
    from ({{ dbt.generate_series(var('forecast_weeks') + 1) }}) as series
),

weeks as (
    select
        origins.business_id,
        financial_settings.base_currency_id,
        origins.origin_date as snapshot_date,
        origins.is_latest,
        week_numbers.week_number,
        cast({{ dbt.dateadd('day', '7 * (week_numbers.week_number - 1)', 'origins.origin_date') }} as date)
            as week_start
    from origins
    left join financial_settings
        on origins.business_id = financial_settings.business_id
    cross join week_numbers
),

opening_cash as (
    -- Cash in every bank account at the close of the origin date, in base currency.
    select
        origins.business_id,
        origins.origin_date,
        sum(cash_position_daily.closing_balance) as opening_cash
    from origins
    inner join cash_position_daily
        on origins.business_id = cash_position_daily.business_id
        and origins.origin_date = cash_position_daily.date_day
    group by origins.business_id, origins.origin_date
),

flows as (
    select
        business_id,
        snapshot_date,
        week_number,
        sum(case when source = 'open_invoice' then amount else 0 end) as expected_receipts_ar,
        -sum(case when source = 'open_bill' then amount else 0 end) as expected_payments_ap,
        sum(case when source like 'recurring:%' and amount > 0 then amount else 0 end) as recurring_receipts,
        -sum(case when source like 'recurring:%' and amount < 0 then amount else 0 end) as recurring_payments,
        sum(doubtful_amount) as doubtful_receipts_ar,
        sum(case when source = 'open_invoice' then overdue_amount else 0 end) as receipts_overdue_included
    from lines
    group by business_id, snapshot_date, week_number
),

weekly as (
    select
        weeks.business_id,
        weeks.base_currency_id,
        weeks.snapshot_date,
        weeks.is_latest,
        weeks.week_number,
        weeks.week_start,
        coalesce(opening_cash.opening_cash, 0) as snapshot_cash,
        coalesce(flows.expected_receipts_ar, 0) as expected_receipts_ar,
        coalesce(flows.expected_payments_ap, 0) as expected_payments_ap,
        coalesce(flows.recurring_receipts, 0) as recurring_receipts,
        coalesce(flows.recurring_payments, 0) as recurring_payments,
        coalesce(flows.doubtful_receipts_ar, 0) as doubtful_receipts_ar,
        coalesce(flows.receipts_overdue_included, 0) as receipts_overdue_included,
        coalesce(flows.expected_receipts_ar, 0) + coalesce(flows.recurring_receipts, 0)
            - coalesce(flows.expected_payments_ap, 0) - coalesce(flows.recurring_payments, 0) as net_cash_flow
    from weeks
    left join opening_cash
        on weeks.business_id = opening_cash.business_id
        and weeks.snapshot_date = opening_cash.origin_date
    left join flows
        on weeks.business_id = flows.business_id
        and weeks.snapshot_date = flows.snapshot_date
        and weeks.week_number = flows.week_number
),

-- Each week closes at the origin's cash plus the net flows up to and including it, and opens at the
-- previous week's close.
rolled_forward as (
    select
        *,
        snapshot_cash + sum(net_cash_flow) over (
            partition by business_id, snapshot_date order by week_number
            rows between unbounded preceding and current row
        ) as closing_cash
    from weekly
),

final as (
    select
        business_id,
        snapshot_date,
        is_latest,
        week_number,
        week_start,
        -- The beyond-the-horizon week has no end.
        case when week_number <= {{ var('forecast_weeks') }} then cast({{ dbt.dateadd('day', 6, 'week_start') }} as date) end as week_end,
        week_number > {{ var('forecast_weeks') }} as is_beyond_horizon,
        base_currency_id as currency_id,
        cast(closing_cash - net_cash_flow as decimal(38, 9)) as opening_cash,
        cast(expected_receipts_ar as decimal(38, 9)) as expected_receipts_ar,
        cast(expected_payments_ap as decimal(38, 9)) as expected_payments_ap,
        cast(recurring_receipts as decimal(38, 9)) as recurring_receipts,
        cast(recurring_payments as decimal(38, 9)) as recurring_payments,
        cast(net_cash_flow as decimal(38, 9)) as net_cash_flow,
        cast(closing_cash as decimal(38, 9)) as closing_cash,
        cast(doubtful_receipts_ar as decimal(38, 9)) as doubtful_receipts_ar,
        cast(receipts_overdue_included as decimal(38, 9)) as receipts_overdue_included
    from rolled_forward
)

select * from final
