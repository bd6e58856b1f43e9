-- One row per business and forecast week: a 13-week receipts-and-disbursements cash forecast from today's
-- bank balances and the open AR/AP items (int_cash_forecast_items), plus week 14 "beyond the horizon" that
-- collects what is expected later, so the weeks add up to the open items.
-- Week 1 starts on the snapshot date (as_of_date()), not on a Monday; each week is 7 days.
with

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

forecast_items as (
    select * from {{ ref('int_cash_forecast_items') }}
),

week_starts as (
    select date_day as week_start
    from {{ date_series(as_of_date(), dbt.dateadd('day', 7 * var('forecast_weeks'), as_of_date()), 'week') }} as series
),

weeks as (
    select
        financial_settings.business_id,
        financial_settings.base_currency_id,
        {{ as_of_date() }} as snapshot_date,
        cast(floor({{ dbt.datediff(as_of_date(), 'week_starts.week_start', 'day') }} / 7.0) + 1 as integer) as week_number,
        week_starts.week_start
    from financial_settings
    cross join week_starts
),

opening_cash as (
    -- Cash in every bank account at the close of the snapshot date, in base currency.
    select
        business_id,
        sum(closing_balance) as opening_cash
    from cash_position_daily
    where date_day = {{ as_of_date() }}
    group by business_id
),

flows as (
    select
        business_id,
        week_number,
        sum(case when item_type = 'receivable' then outstanding_base else 0 end) as expected_receipts_ar,
        sum(case when item_type = 'payable' then outstanding_base else 0 end) as expected_payments_ap,
        sum(case when item_type = 'receivable' and is_past_expected_date then outstanding_base else 0 end)
            as receipts_overdue_included
    from forecast_items
    group by business_id, week_number
),

weekly as (
    select
        weeks.business_id,
        weeks.base_currency_id,
        weeks.snapshot_date,
        weeks.week_number,
        weeks.week_start,
        coalesce(opening_cash.opening_cash, 0) as snapshot_cash,
        coalesce(flows.expected_receipts_ar, 0) as expected_receipts_ar,
        coalesce(flows.expected_payments_ap, 0) as expected_payments_ap,
        coalesce(flows.receipts_overdue_included, 0) as receipts_overdue_included,
        coalesce(flows.expected_receipts_ar, 0) - coalesce(flows.expected_payments_ap, 0) as net_cash_flow
    from weeks
    left join opening_cash
        on weeks.business_id = opening_cash.business_id
    left join flows
        on weeks.business_id = flows.business_id
        and weeks.week_number = flows.week_number
),

-- Each week closes at the snapshot cash plus the net flows up to and including it, and opens at the
-- previous week's close.
rolled_forward as (
    select
        *,
        snapshot_cash + sum(net_cash_flow) over (
            partition by business_id order by week_number rows between unbounded preceding and current row
        ) as closing_cash
    from weekly
),

final as (
    select
        business_id,
        snapshot_date,
        week_number,
        week_start,
        -- The beyond-the-horizon week has no end.
        case when week_number <= {{ var('forecast_weeks') }} then cast({{ dbt.dateadd('day', 6, 'week_start') }} as date) end as week_end,
        week_number > {{ var('forecast_weeks') }} as is_beyond_horizon,
        base_currency_id as currency_id,
        cast(closing_cash - net_cash_flow as decimal(38, 9)) as opening_cash,
        cast(expected_receipts_ar as decimal(38, 9)) as expected_receipts_ar,
        cast(expected_payments_ap as decimal(38, 9)) as expected_payments_ap,
        cast(net_cash_flow as decimal(38, 9)) as net_cash_flow,
        cast(closing_cash as decimal(38, 9)) as closing_cash,
        cast(receipts_overdue_included as decimal(38, 9)) as receipts_overdue_included,
        cast({{ var('minimum_cash') }} as decimal(38, 9)) as minimum_cash,
        closing_cash < {{ var('minimum_cash') }} as below_minimum_cash
    from rolled_forward
)

select * from final
