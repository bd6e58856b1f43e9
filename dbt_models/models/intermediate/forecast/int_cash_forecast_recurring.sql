-- One row per forecast origin (int_cash_forecast_origins), cash-flow line and forecast week: the cash that is
-- not (yet) a document — payroll, rent, tax settlements, suppliers paid directly (other payments), card
-- settlements, loan repayments, bank journals... — projected from the origin's own history.
-- History: the bank cash per cash_flow_line (int_cash_entries_classified, base currency, + in / − out) in the
-- var('forecast_recurring_months') months up to the origin, leaving out contact payments (they settle
-- invoices and bills, which the forecast already has as open items, or are payments on account, which are
-- open items too) and internal transfers (they net to zero across the business's banks).
-- Method: each line's average month over that window, spread over the days of the month in the proportions
-- it had: Σ cash of the line on day-of-month d in the window ÷ months in the window is what the line is
-- expected to move on day d of every coming month (day 31 falls on the month's last day in shorter months).
-- Why this: it is explainable line by line ("payroll: £22 k a month, on the 30th"), it lands monthly flows
-- in the right week of the month, and an average — unlike a median — carries quarterly flows such as VAT at
-- their monthly rate; a one-off (a capital injection) weighs 1/6 for six months, which the backtest shows.
-- Days after the origin up to the last day of the horizon are projected; nothing beyond it (week
-- forecast_weeks + 1 is open-ended and holds only documents).
{%- set months = var('forecast_recurring_months') %}
{%- set horizon_days = 7 * var('forecast_weeks') %}
with

origins as (
    select business_id, origin_date from {{ ref('int_cash_forecast_origins') }}
),

cash_entries as (
    select
        business_id,
        entry_date,
        cash_flow_line,
        cash_amount
    from {{ ref('int_cash_entries_classified') }}
    where source_object <> 'contact_payment'
        and cash_flow_activity <> 'internal_transfer'
),

-- What each line moved on each day of the month over the whole window (÷ months below, once per week).
by_day_of_month as (
    select
        origins.business_id,
        origins.origin_date,
        cash_entries.cash_flow_line,
        cast(extract(day from cash_entries.entry_date) as integer) as day_of_month,
        sum(cash_entries.cash_amount) as window_amount
    from cash_entries
    inner join origins
        on cash_entries.business_id = origins.business_id
        and cash_entries.entry_date <= origins.origin_date
        and cash_entries.entry_date > cast({{ dbt.dateadd('month', -months, 'origins.origin_date') }} as date)
    group by
        origins.business_id,
        origins.origin_date,
        cash_entries.cash_flow_line,
        cast(extract(day from cash_entries.entry_date) as integer)
),

-- The months the horizon touches, from the origin's month to the month of its last day.
horizon_months as (
    select
        origins.business_id,
        origins.origin_date,
        months.date_day as month_start
    from origins
    inner join {{ date_series(
        month_start("(select min(origin_date) from " ~ ref('int_cash_forecast_origins') ~ ")"),
        dbt.dateadd('day', horizon_days, "(select max(origin_date) from " ~ ref('int_cash_forecast_origins') ~ ")"),
        'month'
    ) }} as months
        on months.date_day >= {{ month_start('origins.origin_date') }}
        and months.date_day <= cast({{ dbt.dateadd('day', horizon_days - 1, 'origins.origin_date') }} as date)
),

projected as (
    select
        by_day_of_month.business_id,
        by_day_of_month.origin_date,
        by_day_of_month.cash_flow_line,
        cast({{ dbt.dateadd(
            'day',
            'least(by_day_of_month.day_of_month, cast(extract(day from ' ~ month_end('horizon_months.month_start') ~ ') as integer)) - 1',
            'horizon_months.month_start'
        ) }} as date) as flow_date,
        by_day_of_month.window_amount
    from by_day_of_month
    inner join horizon_months
        on by_day_of_month.business_id = horizon_months.business_id
        and by_day_of_month.origin_date = horizon_months.origin_date
),

weekly as (
    select
        business_id,
        origin_date,
        cash_flow_line,
        cast(floor({{ dbt.datediff('origin_date', 'flow_date', 'day') }} / 7.0) + 1 as integer) as week_number,
        sum(window_amount) as window_amount
    from projected
    where flow_date > origin_date
        and flow_date <= cast({{ dbt.dateadd('day', horizon_days - 1, 'origin_date') }} as date)
    group by
        business_id,
        origin_date,
        cash_flow_line,
        cast(floor({{ dbt.datediff('origin_date', 'flow_date', 'day') }} / 7.0) + 1 as integer)
),

final as (
    select
        business_id,
        origin_date as snapshot_date,
        cash_flow_line,
        week_number,
        -- The window's cash ÷ its months, to the cent, exactly alike on DuckDB and PostgreSQL.
        {{ divide_to_cent('window_amount', months) }} as amount
    from weekly
)

select * from final
