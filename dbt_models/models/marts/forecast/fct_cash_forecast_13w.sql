-- One row per business and forecast week: today's 13-week cash forecast — the latest origin of
-- int_cash_forecast_weekly (the SQL is there, shared with the backtest) — with the minimum-cash line.
with

weekly as (
    select * from {{ ref('int_cash_forecast_weekly') }}
    where is_latest
),

final as (
    select
        business_id,
        snapshot_date,
        week_number,
        week_start,
        week_end,
        is_beyond_horizon,
        currency_id,
        opening_cash,
        expected_receipts_ar,
        expected_payments_ap,
        net_cash_flow,
        closing_cash,
        receipts_overdue_included,
        cast({{ var('minimum_cash') }} as decimal(38, 9)) as minimum_cash,
        closing_cash < {{ var('minimum_cash') }} as below_minimum_cash,
        recurring_receipts,
        recurring_payments,
        doubtful_receipts_ar
    from weekly
)

select * from final
