-- One row per forecast origin (int_cash_forecast_origins: today's snapshot and each backtest month-end) and
-- open AR or AP item at that date (fct_open_items as of the origin: only what was known then), with the date
-- its cash is expected, the forecast week it lands in, and how much of it is expected at all.
-- Dates: due date + the contact's expected days late as known at the origin (int_contact_payment_behaviour:
-- its own habit shrunk towards the business's; customers on the receivable side, suppliers on the payable
-- side), rounded to days; anything expected before the origin is overdue and placed on it (week 1). Items
-- expected after the horizon land in week forecast_weeks + 1 ("beyond the horizon") so the weeks add up to
-- the open items. Credit notes and payments on account are due on their own date, placed the same way, and
-- reduce that week's cash.
-- Amounts: a customer invoice is expected at outstanding × the probability that a debt of its age (aging
-- bucket at the origin) is ever collected (int_collection_probability); the rest is doubtful_base, shown
-- apart and not counted as cash. Credits and bills are expected in full (probability 1), so
-- expected_base + doubtful_base = outstanding_base for every item.
-- A table, not a view: its data tests and int_cash_forecast_lines each read it, and computing it once
-- (~4 s at 1 M invoices) costs less than once per reader.
{{ config(materialized='table') }}

with

origins as (
    select business_id, origin_date, is_latest from {{ ref('int_cash_forecast_origins') }}
),

open_items as (
    select
        open_items.business_id,
        open_items.as_of_date as origin_date,
        origins.is_latest as is_latest_origin,
        open_items.ledger_side,
        open_items.document_type,
        open_items.document_id,
        open_items.contact_id,
        -- Payments on account carry no due date: the money is expected as of the document's date.
        coalesce(open_items.due_date, open_items.document_date) as due_date,
        open_items.aging_bucket,
        open_items.outstanding_base
    from {{ ref('fct_open_items') }} as open_items
    inner join origins
        on open_items.business_id = origins.business_id
        and open_items.as_of_date = origins.origin_date
),

payment_behaviour as (
    select
        business_id,
        origin_date,
        ledger_side,
        contact_id,
        expected_days_late
    from {{ ref('int_contact_payment_behaviour') }}
),

collection_probability as (
    select
        business_id,
        origin_date,
        aging_bucket,
        probability_collected
    from {{ ref('int_collection_probability') }}
),

placed as (
    select
        open_items.*,
        cast(round(coalesce(payment_behaviour.expected_days_late, 0)) as integer) as expected_days_late,
        case
            when open_items.ledger_side = 'receivable'
                and open_items.document_type in ('invoice', 'quick_entry_invoice')
                and open_items.outstanding_base > 0
                then coalesce(collection_probability.probability_collected, 1)
            else 1
        end as probability_collected
    from open_items
    left join payment_behaviour
        on open_items.business_id = payment_behaviour.business_id
        and open_items.origin_date = payment_behaviour.origin_date
        and open_items.ledger_side = payment_behaviour.ledger_side
        and open_items.contact_id = payment_behaviour.contact_id
    left join collection_probability
        on open_items.business_id = collection_probability.business_id
        and open_items.origin_date = collection_probability.origin_date
        and open_items.aging_bucket = collection_probability.aging_bucket
),

dated as (
    select
        *,
        cast({{ dbt.dateadd('day', 'expected_days_late', 'due_date') }} as date) as expected_date_unclamped
    from placed
),

final as (
    select
        business_id,
        origin_date as snapshot_date,
        is_latest_origin,
        ledger_side as item_type,
        document_type,
        document_id,
        contact_id,
        due_date,
        aging_bucket,
        cast(expected_days_late as integer) as expected_days_late,
        greatest(origin_date, expected_date_unclamped) as expected_date,
        expected_date_unclamped < origin_date as is_past_expected_date,
        cast(
            least(
                floor({{ dbt.datediff('origin_date', 'greatest(origin_date, expected_date_unclamped)', 'day') }} / 7.0) + 1,
                {{ var('forecast_weeks') }} + 1
            ) as integer
        ) as week_number,
        cast(outstanding_base as decimal(38, 9)) as outstanding_base,
        cast(probability_collected as decimal(18, 6)) as probability_collected,
        cast(round(outstanding_base * probability_collected, 2) as decimal(38, 9)) as expected_base,
        cast(outstanding_base - round(outstanding_base * probability_collected, 2) as decimal(38, 9))
            as doubtful_base
    from dated
)

select * from final
