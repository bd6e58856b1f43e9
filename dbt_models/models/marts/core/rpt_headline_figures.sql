-- One row per business: the figures an analyst looks at first, as of as_of_date() (the day the books were
-- read): cash in all bank accounts at the end of that day, what customers owe by aging bucket, the last
-- complete month's DSO and CEI, and the low point of the 13-week forecast. `sage-pipeline run` and
-- `make demo` print them (pipelines/marts_summary.py); computing them here means every reader gets the
-- same figure. Amounts are in the business's base currency. A business without cash, receivables or
-- KPI months has nulls in those columns (cash_on, ar_on, kpi_month_end say whether there is a figure).
with

businesses as (
    select * from {{ ref('dim_businesses') }}
),

cash_position as (
    select * from {{ ref('fct_cash_position_daily') }}
),

-- Each business's latest day: the day the books were read, for a business whose cash runs to it.
cash_today as (
    select
        cash_position.business_id,
        cash_position.date_day as cash_on,
        sum(cash_position.closing_balance) as cash_total
    from cash_position
    inner join (
        select business_id, max(date_day) as date_day
        from cash_position
        group by business_id
    ) as latest
        on cash_position.business_id = latest.business_id
        and cash_position.date_day = latest.date_day
    group by cash_position.business_id, cash_position.date_day
),

-- The aged debtors report today, summed over customers: invoices by bucket, credits apart.
receivables_today as (
    select
        business_id,
        as_of_date as ar_on,
        sum(total_outstanding) as ar_open,
        sum(current_amount) as ar_current,
        sum(d1_30) as ar_d1_30,
        sum(d31_60) as ar_d31_60,
        sum(d61_90) as ar_d61_90,
        sum(d90_plus) as ar_d90_plus,
        sum(unallocated_credits) as ar_unallocated_credits
    from {{ ref('rpt_ar_aging') }}
    where is_latest
    group by business_id, as_of_date
),

-- The last month the books hold whole (fct_receivables_kpis_monthly's is_partial_month, as the notebook reads it).
kpis as (
    select * from {{ ref('fct_receivables_kpis_monthly') }}
),

last_complete_month as (
    select
        kpis.business_id,
        kpis.month_end as kpi_month_end,
        kpis.dso_simple,
        kpis.dso_countback,
        kpis.cei
    from kpis
    inner join (
        select business_id, max(month_end) as month_end
        from kpis
        where not is_partial_month
        group by business_id
    ) as last_month
        on kpis.business_id = last_month.business_id
        and kpis.month_end = last_month.month_end
),

forecast_weeks as (
    select
        business_id,
        week_number,
        closing_cash,
        below_minimum_cash,
        row_number() over (partition by business_id order by closing_cash, week_number) as lowest_first
    from {{ ref('fct_cash_forecast_13w') }}
    where not is_beyond_horizon
),

forecast as (
    select
        business_id,
        min(case when lowest_first = 1 then closing_cash end) as forecast_lowest_closing_cash,
        min(case when lowest_first = 1 then week_number end) as forecast_lowest_week,
        sum(case when below_minimum_cash then 1 else 0 end) as forecast_weeks_below_minimum
    from forecast_weeks
    group by business_id
)

select
    businesses.business_id,
    businesses.business_name,
    businesses.base_currency_id,
    cast({{ as_of_date() }} as date) as as_of_date,
    cash_today.cash_on,
    cast(cash_today.cash_total as decimal(38, 9)) as cash_total,
    receivables_today.ar_on,
    cast(receivables_today.ar_open as decimal(38, 9)) as ar_open,
    cast(
        receivables_today.ar_d1_30 + receivables_today.ar_d31_60
        + receivables_today.ar_d61_90 + receivables_today.ar_d90_plus
        as decimal(38, 9)
    ) as ar_overdue,
    cast(receivables_today.ar_current as decimal(38, 9)) as ar_current,
    cast(receivables_today.ar_d1_30 as decimal(38, 9)) as ar_d1_30,
    cast(receivables_today.ar_d31_60 as decimal(38, 9)) as ar_d31_60,
    cast(receivables_today.ar_d61_90 as decimal(38, 9)) as ar_d61_90,
    cast(receivables_today.ar_d90_plus as decimal(38, 9)) as ar_d90_plus,
    cast(receivables_today.ar_unallocated_credits as decimal(38, 9)) as ar_unallocated_credits,
    last_complete_month.kpi_month_end,
    cast(last_complete_month.dso_simple as decimal(18, 4)) as dso_simple,
    cast(last_complete_month.dso_countback as decimal(18, 4)) as dso_countback,
    cast(last_complete_month.cei as decimal(18, 4)) as cei,
    cast(forecast.forecast_lowest_closing_cash as decimal(38, 9)) as forecast_lowest_closing_cash,
    cast(forecast.forecast_lowest_week as integer) as forecast_lowest_week,
    cast(forecast.forecast_weeks_below_minimum as integer) as forecast_weeks_below_minimum
from businesses
left join cash_today
    on businesses.business_id = cash_today.business_id
left join receivables_today
    on businesses.business_id = receivables_today.business_id
left join last_complete_month
    on businesses.business_id = last_complete_month.business_id
left join forecast
    on businesses.business_id = forecast.business_id
