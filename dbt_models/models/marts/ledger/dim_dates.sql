-- One row per business and day: calendar and fiscal attributes (see int_fiscal_calendar_daily).
with calendar as (
    select * from {{ ref('int_fiscal_calendar_daily') }}
)

select
    business_id,
    date_day,
    month_start,
    month_end,
    is_month_end,
    week_start,
    fiscal_year,
    fiscal_year_start,
    fiscal_year_end,
    fiscal_period,
    fiscal_quarter
from calendar
