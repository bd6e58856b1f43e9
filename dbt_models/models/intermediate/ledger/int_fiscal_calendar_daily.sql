-- One row per business and day, from the earliest of the accounts start date and the first ledger entry
-- up to the later of the last entry and as_of_date() + forecast_weeks + one week (the cash forecast
-- places items in future weeks, and a week-14 "beyond horizon" bucket needs its week too).
-- Fiscal years end on the last day of the month of financial_settings.year_end_date (fiscal_year_end
-- macro), so a 31 March or 29 February year end works; fiscal_year is the calendar year it ends in.
-- A table, not a view: its first and last days come from the whole ledger, and the months, the date
-- dimension, the balances and their tests each read it (computed once, not per reader).
{{ config(materialized='table') }}
{%- set horizon_days = var('forecast_weeks') * 7 + 7 %}

with settings as (
    select * from {{ ref('stg_sage__financial_settings') }}
),

entries as (
    select * from {{ ref('int_ledger_entries_signed') }}
),

entry_range as (
    select
        business_id,
        min(entry_date) as first_entry_date,
        max(entry_date) as last_entry_date
    from entries
    group by business_id
),

bounds as (
    select
        settings.business_id,
        settings.year_end_date,
        -- coalesce both ways: a business with no entries yet still gets a calendar, and one without
        -- an accounts start date starts at its first entry.
        least(
            coalesce(settings.accounts_start_date, entry_range.first_entry_date),
            coalesce(entry_range.first_entry_date, settings.accounts_start_date)
        ) as calendar_start,
        greatest(
            {{ as_of_date() }} + {{ horizon_days }},
            coalesce(entry_range.last_entry_date, {{ as_of_date() }} + {{ horizon_days }})
        ) as calendar_end
    from settings
    left join entry_range
        on settings.business_id = entry_range.business_id
),

-- One series over every business's range (a per-business series would need LATERAL, which the two
-- warehouses spell differently), then each business keeps its own days.
all_days as (
    select date_day from {{ date_series('(select min(calendar_start) from bounds)', '(select max(calendar_end) from bounds)', 'day') }} as series
),

business_days as (
    select
        bounds.business_id,
        all_days.date_day,
        {{ fiscal_year_end('all_days.date_day', 'bounds.year_end_date') }} as fiscal_year_end
    from bounds
    inner join all_days
        on all_days.date_day between bounds.calendar_start and bounds.calendar_end
),

fiscal as (
    select
        business_id,
        date_day,
        fiscal_year_end,
        -- a fiscal year is the twelve whole months ending at its year end
        cast({{ dbt.dateadd('month', -11, month_start('fiscal_year_end')) }} as date) as fiscal_year_start
    from business_days
)

select
    business_id,
    date_day,
    {{ month_start('date_day') }} as month_start,
    {{ month_end('date_day') }} as month_end,
    date_day = {{ month_end('date_day') }} as is_month_end,
    cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
    cast(extract(year from fiscal_year_end) as integer) as fiscal_year,
    fiscal_year_start,
    fiscal_year_end,
    cast(
        (extract(year from date_day) - extract(year from fiscal_year_start)) * 12
        + extract(month from date_day) - extract(month from fiscal_year_start) + 1
        as integer
    ) as fiscal_period,
    cast(
        floor(
            ((extract(year from date_day) - extract(year from fiscal_year_start)) * 12
            + extract(month from date_day) - extract(month from fiscal_year_start)) / 3
        ) + 1
        as integer
    ) as fiscal_quarter
from fiscal
