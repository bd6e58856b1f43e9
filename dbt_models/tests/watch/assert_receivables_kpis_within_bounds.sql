-- R13 (warn): receivables KPIs that an accountant would not believe. The collection effectiveness index is a
-- percentage of what could be collected and should lie within 0–100 where defined; DSO (simple, countback,
-- best possible) is a number of days and should not be negative. A breach usually means negative AR (customers
-- in credit), sales reversed by credit notes, or an AR snapshot that does not follow from the documents.
-- Returns the months with the KPI that is out of bounds.
{{ config(severity='warn') }}

with

kpis as (
    select * from {{ ref('fct_receivables_kpis_monthly') }}
),

breaches as (
    select business_id, month_end, 'cei' as kpi, cei as kpi_value
    from kpis where cei < 0 or cei > 100
    union all
    select business_id, month_end, 'dso_simple', dso_simple
    from kpis where dso_simple < 0
    union all
    select business_id, month_end, 'dso_countback', dso_countback
    from kpis where dso_countback < 0
    union all
    select business_id, month_end, 'best_possible_dso', best_possible_dso
    from kpis where best_possible_dso < 0
)

select * from breaches
