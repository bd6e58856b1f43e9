-- One row per forecast origin (int_cash_forecast_origins) and aging bucket: the probability that an open
-- customer invoice of that age is ever collected, from the business's own history as known at the origin.
-- A debt "reached" a bucket at the first month-end it was open in it (fct_open_items, receivable invoices
-- and quick-entry invoices); of the amounts outstanding when debts reached the bucket, collected_base is
-- the part of those since settled in full (settled_date on or before the origin). Only debts that reached
-- the bucket between 24 months and 3 months before the origin count: a debt that got there last week has
-- not had the time to be paid, and counting it would make every recent debt look doubtful.
-- Buckets with less than min_observations debts observed fall back to 1 (collected in full, what the
-- forecast assumed before it measured anything), so a business with no history still gets a forecast.
-- A table, not a view: its data tests and int_cash_forecast_items each read it (computed once, not per reader).
{{ config(materialized='table') }}

{%- set min_observations = 5 %}
with

origins as (
    select business_id, origin_date from {{ ref('int_cash_forecast_origins') }}
),

buckets as (
    select 'current' as aging_bucket
    union all select '1-30'
    union all select '31-60'
    union all select '61-90'
    union all select '90+'
),

open_invoices as (
    select
        business_id,
        document_id,
        document_type,
        aging_bucket,
        as_of_date,
        outstanding_base
    from {{ ref('fct_open_items') }}
    where ledger_side = 'receivable'
        and document_type in ('invoice', 'quick_entry_invoice')
        and outstanding_base > 0
),

-- The first month-end each debt was open in each bucket, and what was then outstanding.
reached as (
    select
        business_id,
        document_id,
        document_type,
        aging_bucket,
        as_of_date as reached_date,
        outstanding_base
    from (
        select
            *,
            row_number() over (
                partition by business_id, document_type, document_id, aging_bucket order by as_of_date
            ) as reach_order
        from open_invoices
    ) as ordered
    where reach_order = 1
),

settled as (
    select
        business_id,
        document_type,
        document_id,
        settled_date
    from {{ ref('int_ar_documents') }}
    where document_type in ('invoice', 'quick_entry_invoice')
),

-- Debts grouped by what the origins compare (bucket, date reached, date settled) before they meet the
-- origins: each origin reads ~1 M debts at 1 M invoices, the groups are a few thousand.
reached_settled as (
    select
        reached.business_id,
        reached.aging_bucket,
        reached.reached_date,
        settled.settled_date,
        count(*) as debts,
        sum(reached.outstanding_base) as outstanding_base
    from reached
    left join settled
        on reached.business_id = settled.business_id
        and reached.document_type = settled.document_type
        and reached.document_id = settled.document_id
    group by reached.business_id, reached.aging_bucket, reached.reached_date, settled.settled_date
),

observed as (
    select
        origins.business_id,
        origins.origin_date,
        reached_settled.aging_bucket,
        sum(reached_settled.debts) as observed_debts,
        sum(reached_settled.outstanding_base) as observed_base,
        sum(
            case
                when reached_settled.settled_date <= origins.origin_date then reached_settled.outstanding_base
                else 0
            end
        ) as collected_base
    from reached_settled
    inner join origins
        on reached_settled.business_id = origins.business_id
        and reached_settled.reached_date <= cast({{ dbt.dateadd('month', -3, 'origins.origin_date') }} as date)
        and reached_settled.reached_date > cast({{ dbt.dateadd('month', -24, 'origins.origin_date') }} as date)
    group by origins.business_id, origins.origin_date, reached_settled.aging_bucket
),

final as (
    select
        origins.business_id,
        origins.origin_date,
        buckets.aging_bucket,
        cast(coalesce(observed.observed_debts, 0) as integer) as observed_debts,
        cast(coalesce(observed.observed_base, 0) as decimal(38, 9)) as observed_base,
        cast(coalesce(observed.collected_base, 0) as decimal(38, 9)) as collected_base,
        coalesce(observed.observed_debts, 0) < {{ min_observations }} as is_fallback,
        cast(
            case
                when coalesce(observed.observed_debts, 0) < {{ min_observations }} then 1
                else observed.collected_base / observed.observed_base
            end as decimal(18, 6)
        ) as probability_collected
    from origins
    cross join buckets
    left join observed
        on origins.business_id = observed.business_id
        and origins.origin_date = observed.origin_date
        and buckets.aging_bucket = observed.aging_bucket
)

select * from final
