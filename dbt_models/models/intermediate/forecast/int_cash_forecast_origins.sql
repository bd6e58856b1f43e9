-- One row per business and date a forecast is made as of (its origin): as_of_date() — today's forecast,
-- is_latest — and each of the last var('forecast_backtest_months') month-ends before it, the backtest's
-- origins. Every forecast model works over these pairs, so today's forecast and the backtest share one
-- SQL path. Month-ends come from the open items' as-of dates (fct_open_items holds every month-end from
-- the business's accounts_start_date): a business younger than a month-end has no origin there, so a new
-- business gets today's forecast and an empty backtest.
with

as_of_dates as (
    select * from {{ open_item_as_of_dates() }} as dates
),

final as (
    select
        business_id,
        cast(as_of_date as date) as origin_date,
        as_of_date = {{ as_of_date() }} as is_latest
    from as_of_dates
    where as_of_date = {{ as_of_date() }}
        or as_of_date >= {{ month_end(dbt.dateadd('month', -var('forecast_backtest_months'), month_start(as_of_date()))) }}
)

select * from final
