-- One row per contact: how late the customer pays, for placing its open invoices in the cash forecast.
-- avg_days_late is the amount-weighted (base currency) average of settled_date − due_date over the
-- contact's invoices (and quick-entry invoices) settled in full in the 12 months up to as_of_date();
-- settled_date is the date of the allocation that cleared the invoice, which is Sage's last_paid for a
-- paid invoice. Contacts without such invoices get 0 (pay on time); the average is clamped to
-- [-30, 120] days so one odd invoice cannot throw a forecast months out.
with

contacts as (
    select business_id, contact_id from {{ ref('stg_sage__contacts') }}
    union
    select business_id, contact_id from {{ ref('int_ar_documents') }}
    where contact_id is not null
),

paid_invoices as (
    select
        business_id,
        contact_id,
        total_base,
        {{ dbt.datediff('due_date', 'settled_date', 'day') }} as days_late
    from {{ ref('int_ar_documents') }}
    where document_type in ('invoice', 'quick_entry_invoice')
        and settled_date is not null
        and settled_date <= {{ as_of_date() }}
        and settled_date > cast({{ dbt.dateadd('month', -12, as_of_date()) }} as date)
),

by_contact as (
    select
        business_id,
        contact_id,
        count(*) as paid_invoices,
        sum(total_base) as paid_base,
        sum(total_base * days_late) / nullif(sum(total_base), 0) as weighted_days_late
    from paid_invoices
    group by business_id, contact_id
),

final as (
    select
        contacts.business_id,
        contacts.contact_id,
        cast(
            least(greatest(coalesce(by_contact.weighted_days_late, 0), -30), 120) as decimal(18, 4)
        ) as avg_days_late,
        cast(by_contact.weighted_days_late as decimal(18, 4)) as avg_days_late_unclamped,
        cast(coalesce(by_contact.paid_invoices, 0) as integer) as paid_invoices,
        cast(coalesce(by_contact.paid_base, 0) as decimal(38, 9)) as paid_base
    from contacts
    left join by_contact
        on contacts.business_id = by_contact.business_id
        and contacts.contact_id = by_contact.contact_id
)

select * from final
