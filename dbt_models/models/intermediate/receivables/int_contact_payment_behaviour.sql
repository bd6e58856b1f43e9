-- One row per forecast origin (int_cash_forecast_origins), ledger side and contact: how many days after
-- the due date the contact pays — customers on the receivable side, suppliers on the payable side — from
-- what was known at the origin, for placing its open items in the cash forecast (today's and the backtest's).
-- avg_days_late is the amount-weighted (base currency) average of settled_date − due_date over the
-- contact's invoices (and quick-entry invoices) settled in full in the 12 months up to the origin;
-- settled_date is the date of the allocation that cleared the invoice, which is Sage's last_paid for a paid
-- invoice. It is clamped to [-30, 120] days so one odd invoice cannot throw a forecast months out, and 0
-- without such invoices. business_avg_days_late is the same over all the business's contacts on that side.
-- expected_days_late, what the forecast uses, shrinks the contact's own figure towards the business's in
-- proportion to how little history it rests on: (n × contact + k × business) / (n + k), n the contact's
-- paid invoices and k = 3 — a contact with one paid invoice counts a quarter, with 30 paid ~90 %; a contact
-- without history gets the business's habit, and a business without any history 0 (pays on time).
-- A table, not a view: its data tests and int_cash_forecast_items each read it (computed once, not per reader).
{{ config(materialized='table') }}

{%- set prior_weight = 3 %}
with

origins as (
    select business_id, origin_date from {{ ref('int_cash_forecast_origins') }}
),

documents as (
    select
        business_id,
        ledger_side,
        contact_id,
        document_type,
        due_date,
        settled_date,
        total_base
    from {{ ref('int_open_item_documents') }}
),

contacts as (
    select business_id, contact_id from {{ ref('stg_sage__contacts') }}
    union
    select business_id, contact_id from documents
    where contact_id is not null
),

ledger_sides as (
    select 'receivable' as ledger_side
    union all
    select 'payable' as ledger_side
),

paid_invoices as (
    select
        documents.business_id,
        origins.origin_date,
        documents.ledger_side,
        documents.contact_id,
        documents.total_base,
        {{ dbt.datediff('documents.due_date', 'documents.settled_date', 'day') }} as days_late
    from documents
    inner join origins
        on documents.business_id = origins.business_id
        and documents.settled_date <= origins.origin_date
        and documents.settled_date > cast({{ dbt.dateadd('month', -12, 'origins.origin_date') }} as date)
    where documents.document_type in ('invoice', 'quick_entry_invoice')
),

by_contact as (
    select
        business_id,
        origin_date,
        ledger_side,
        contact_id,
        count(*) as paid_invoices,
        sum(total_base) as paid_base,
        sum(total_base * days_late) / nullif(sum(total_base), 0) as weighted_days_late
    from paid_invoices
    group by business_id, origin_date, ledger_side, contact_id
),

by_business as (
    select
        business_id,
        origin_date,
        ledger_side,
        sum(total_base * days_late) / nullif(sum(total_base), 0) as weighted_days_late
    from paid_invoices
    group by business_id, origin_date, ledger_side
),

contact_origins as (
    select
        contacts.business_id,
        origins.origin_date,
        ledger_sides.ledger_side,
        contacts.contact_id
    from contacts
    inner join origins
        on contacts.business_id = origins.business_id
    cross join ledger_sides
),

clamped as (
    select
        contact_origins.*,
        by_contact.weighted_days_late as avg_days_late_unclamped,
        least(greatest(coalesce(by_contact.weighted_days_late, 0), -30), 120) as avg_days_late,
        least(greatest(coalesce(by_business.weighted_days_late, 0), -30), 120) as business_avg_days_late,
        coalesce(by_contact.paid_invoices, 0) as paid_invoices,
        coalesce(by_contact.paid_base, 0) as paid_base
    from contact_origins
    left join by_contact
        on contact_origins.business_id = by_contact.business_id
        and contact_origins.origin_date = by_contact.origin_date
        and contact_origins.ledger_side = by_contact.ledger_side
        and contact_origins.contact_id = by_contact.contact_id
    left join by_business
        on contact_origins.business_id = by_business.business_id
        and contact_origins.origin_date = by_business.origin_date
        and contact_origins.ledger_side = by_business.ledger_side
),

final as (
    select
        business_id,
        origin_date,
        ledger_side,
        contact_id,
        cast(avg_days_late as decimal(18, 4)) as avg_days_late,
        cast(avg_days_late_unclamped as decimal(18, 4)) as avg_days_late_unclamped,
        cast(paid_invoices as integer) as paid_invoices,
        cast(paid_base as decimal(38, 9)) as paid_base,
        cast(business_avg_days_late as decimal(18, 4)) as business_avg_days_late,
        cast(
            (paid_invoices * avg_days_late + {{ prior_weight }} * business_avg_days_late)
            / (paid_invoices + {{ prior_weight }})
            as decimal(18, 4)
        ) as expected_days_late
    from clamped
)

select * from final
