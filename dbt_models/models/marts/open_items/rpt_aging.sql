-- One row per business, ledger side, as-of date and contact with anything open at that date, in base
-- currency, from fct_open_items: aged debtors (ledger_side receivable, per customer) and aged creditors
-- (payable, per supplier: positive = what we owe). Invoices (and quick-entry invoices) fall into
-- current / d1_30 / d31_60 / d61_90 / d90_plus by days past due; credit notes and payments on
-- account, whatever their age, are summed in unallocated_credits (negative), so
-- current + buckets + unallocated_credits = total_outstanding. oldest_due_date is the earliest due date
-- of the contact's open invoices (null when only credits are open). credit_limit from the contact.
-- rpt_ar_aging and rpt_ap_aging are this model's two sides.
with

open_items as (
    select * from {{ ref('fct_open_items') }}
),

contacts as (
    select
        business_id,
        contact_id,
        contact_name,
        credit_limit
    from {{ ref('dim_contacts') }}
),

-- Debit documents (invoices, quick-entry invoices) go to the bucket of their days past due; credit
-- notes and payments on account, whatever their age, go to unallocated_credits (negative), so that
-- the buckets show what is owed and overdue and the credits show what could still be set against it.
by_contact as (
    select
        business_id,
        ledger_side,
        as_of_date,
        contact_id,
        sum(outstanding_base) as total_outstanding,
        sum(case when is_credit then 0 when aging_bucket = 'current' then outstanding_base else 0 end)
            as current_amount,
        sum(case when is_credit then 0 when aging_bucket = '1-30' then outstanding_base else 0 end) as d1_30,
        sum(case when is_credit then 0 when aging_bucket = '31-60' then outstanding_base else 0 end) as d31_60,
        sum(case when is_credit then 0 when aging_bucket = '61-90' then outstanding_base else 0 end) as d61_90,
        sum(case when is_credit then 0 when aging_bucket = '90+' then outstanding_base else 0 end) as d90_plus,
        sum(case when is_credit then outstanding_base else 0 end) as unallocated_credits,
        min(case when not is_credit then due_date end) as oldest_due_date,
        count(*) as open_documents
    from (
        select
            open_items.*,
            document_type in ('credit_note', 'quick_entry_credit_note', 'payment_on_account') as is_credit
        from open_items
    ) as classified
    group by business_id, ledger_side, as_of_date, contact_id
),

final as (
    select
        by_contact.business_id,
        by_contact.ledger_side,
        by_contact.as_of_date,
        by_contact.contact_id,
        contacts.contact_name,
        cast(by_contact.total_outstanding as decimal(38, 9)) as total_outstanding,
        cast(by_contact.current_amount as decimal(38, 9)) as current_amount,
        cast(by_contact.d1_30 as decimal(38, 9)) as d1_30,
        cast(by_contact.d31_60 as decimal(38, 9)) as d31_60,
        cast(by_contact.d61_90 as decimal(38, 9)) as d61_90,
        cast(by_contact.d90_plus as decimal(38, 9)) as d90_plus,
        cast(by_contact.unallocated_credits as decimal(38, 9)) as unallocated_credits,
        by_contact.oldest_due_date,
        cast(by_contact.open_documents as integer) as open_documents,
        cast(contacts.credit_limit as decimal(38, 9)) as credit_limit,
        by_contact.as_of_date = {{ as_of_date() }} as is_latest
    from by_contact
    left join contacts
        on by_contact.business_id = contacts.business_id
        and by_contact.contact_id = contacts.contact_id
)

select * from final
