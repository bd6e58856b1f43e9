-- One row per business, backtest origin (a month-end before today, int_cash_forecast_origins) and forecast
-- week that has ended by as_of_date(): the forecast made as of the origin with only what was known then
-- (int_cash_forecast_weekly — the same SQL as today's forecast) against the cash that actually followed
-- (Σ bank closing balances on the week's last day, fct_cash_position_daily). Two baselines sit beside it
-- so the method's worth is measured, not claimed: naive = the cash stays where it was at the origin;
-- documents_only = the origin's cash + its open items in full at due date + habit, no probabilities and no
-- recurring flows (close to the forecast before issue 16). error = forecast − actual.
with

forecast as (
    select * from {{ ref('int_cash_forecast_weekly') }}
    where not is_latest
        and not is_beyond_horizon
        and week_end <= {{ as_of_date() }}
),

-- The documents-only baseline: open items in full (expected + doubtful), nothing recurring.
documents_in_full as (
    select
        business_id,
        snapshot_date,
        week_number,
        sum(case when source in ('open_invoice', 'open_bill') then amount + doubtful_amount else 0 end)
            as document_flow
    from {{ ref('int_cash_forecast_lines') }}
    group by business_id, snapshot_date, week_number
),

actual as (
    select
        business_id,
        date_day,
        sum(closing_balance) as actual_closing_cash
    from {{ ref('fct_cash_position_daily') }}
    group by business_id, date_day
),

joined as (
    select
        forecast.business_id,
        forecast.snapshot_date as origin_date,
        forecast.week_number,
        forecast.week_end,
        -- The origin's cash: week 1 opens at it (week 1 ends first, so it is here whenever a later week is).
        first_value(forecast.opening_cash) over (
            partition by forecast.business_id, forecast.snapshot_date order by forecast.week_number
        ) as origin_cash,
        forecast.closing_cash as forecast_closing_cash,
        coalesce(actual.actual_closing_cash, 0) as actual_closing_cash,
        sum(coalesce(documents_in_full.document_flow, 0)) over (
            partition by forecast.business_id, forecast.snapshot_date order by forecast.week_number
            rows between unbounded preceding and current row
        ) as cumulative_document_flow
    from forecast
    left join actual
        on forecast.business_id = actual.business_id
        and forecast.week_end = actual.date_day
    left join documents_in_full
        on forecast.business_id = documents_in_full.business_id
        and forecast.snapshot_date = documents_in_full.snapshot_date
        and forecast.week_number = documents_in_full.week_number
),

final as (
    select
        business_id,
        origin_date,
        week_number,
        week_end,
        cast(forecast_closing_cash as decimal(38, 9)) as forecast_closing_cash,
        cast(actual_closing_cash as decimal(38, 9)) as actual_closing_cash,
        cast(forecast_closing_cash - actual_closing_cash as decimal(38, 9)) as error,
        cast(abs(forecast_closing_cash - actual_closing_cash) as decimal(38, 9)) as absolute_error,
        cast(origin_cash as decimal(38, 9)) as naive_closing_cash,
        cast(abs(origin_cash - actual_closing_cash) as decimal(38, 9)) as naive_absolute_error,
        cast(origin_cash + cumulative_document_flow as decimal(38, 9)) as documents_only_closing_cash,
        cast(abs(origin_cash + cumulative_document_flow - actual_closing_cash) as decimal(38, 9))
            as documents_only_absolute_error
    from joined
)

select * from final
