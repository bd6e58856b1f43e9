-- One row per open AR or AP item at the forecast snapshot (as_of_date()), with the date its cash is expected
-- and the forecast week it lands in. Receipts are expected at the due date plus the customer's average days
-- late (int_contact_payment_behaviour; 0 without history), payments at the due date; anything expected
-- before the snapshot is overdue and placed on the snapshot (week 1). Items expected after the horizon land
-- in week forecast_weeks + 1 ("beyond the horizon") so the weeks add up to the open items.
-- Negative items (credit notes, payments on account) are placed the same way and reduce that week's cash.
with

ar_open_items as (
    select
        business_id,
        document_type,
        document_id,
        contact_id,
        document_date,
        due_date,
        outstanding_base
    from {{ ref('fct_ar_open_items') }}
    where is_latest
),

ap_open_items as (
    select
        business_id,
        document_type,
        document_id,
        contact_id,
        document_date,
        due_date,
        outstanding_base
    from {{ ref('fct_ap_open_items') }}
    where is_latest
),

contact_payment_behaviour as (
    select
        business_id,
        contact_id,
        avg_days_late
    from {{ ref('int_contact_payment_behaviour') }}
),

receivables as (
    select
        ar_open_items.business_id,
        'receivable' as item_type,
        ar_open_items.document_type,
        ar_open_items.document_id,
        ar_open_items.contact_id,
        -- Payments on account carry no due date: the money is expected as of the document's date.
        coalesce(ar_open_items.due_date, ar_open_items.document_date) as due_date,
        cast(round(coalesce(contact_payment_behaviour.avg_days_late, 0)) as integer) as expected_days_late,
        ar_open_items.outstanding_base
    from ar_open_items
    left join contact_payment_behaviour
        on ar_open_items.business_id = contact_payment_behaviour.business_id
        and ar_open_items.contact_id = contact_payment_behaviour.contact_id
),

payables as (
    select
        business_id,
        'payable' as item_type,
        document_type,
        document_id,
        contact_id,
        coalesce(due_date, document_date) as due_date,
        0 as expected_days_late,
        outstanding_base
    from ap_open_items
),

items as (
    select * from receivables
    union all
    select * from payables
),

placed as (
    select
        *,
        {{ as_of_date() }} as snapshot_date,
        cast({{ dbt.dateadd('day', 'expected_days_late', 'due_date') }} as date) as expected_date_unclamped
    from items
),

final as (
    select
        business_id,
        snapshot_date,
        item_type,
        document_type,
        document_id,
        contact_id,
        due_date,
        cast(expected_days_late as integer) as expected_days_late,
        greatest(snapshot_date, expected_date_unclamped) as expected_date,
        expected_date_unclamped < snapshot_date as is_past_expected_date,
        cast(
            least(
                floor({{ dbt.datediff('snapshot_date', 'greatest(snapshot_date, expected_date_unclamped)', 'day') }} / 7.0) + 1,
                {{ var('forecast_weeks') }} + 1
            ) as integer
        ) as week_number,
        cast(outstanding_base as decimal(38, 9)) as outstanding_base
    from placed
)

select * from final
