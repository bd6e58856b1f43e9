-- One row per business, week and line of today's 13-week cash forecast (the latest origin of
-- int_cash_forecast_lines): where the week's cash comes from — open invoices, open bills, or a recurring
-- flow projected from history (source recurring:<cash_flow_line>) — so a reader sees each number's origin.
-- Σ amount per week is fct_cash_forecast_13w's net_cash_flow (assert_forecast_lines_add_up_to_weeks).
with

origins as (
    select business_id, origin_date from {{ ref('int_cash_forecast_origins') }}
    where is_latest
),

lines as (
    select lines.*
    from {{ ref('int_cash_forecast_lines') }} as lines
    inner join origins
        on lines.business_id = origins.business_id
        and lines.snapshot_date = origins.origin_date
),

final as (
    select
        business_id,
        snapshot_date,
        week_number,
        source,
        line,
        source like 'recurring:%' as is_recurring,
        amount,
        doubtful_amount,
        overdue_amount
    from lines
)

select * from final
