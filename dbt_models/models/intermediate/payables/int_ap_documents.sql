-- One row per posted accounts-payable document: purchase invoices, purchase credit notes, purchase
-- quick entries (invoice or credit note) and supplier payments on account (the unallocated part of a
-- VENDOR_PAYMENT). Posted = not void, not draft or pro forma, not deleted; a payment on account
-- counts while its payment is not deleted. Amounts are Sage's, unsigned as Sage shows them; `sign`
-- (+1 invoices, −1 credit notes and payments on account) says how they count towards what we owe
-- suppliers. Credit notes and payments on account have no due date: they are due on their own date.
-- The mirror of receivables/int_ar_documents.sql (sales_ → purchase_, CUSTOMER_RECEIPT →
-- VENDOR_PAYMENT, numbers from displayed_as): change both together.
with

invoices as (
    select * from {{ ref('stg_sage__purchase_invoices') }}
    where is_posted
),

credit_notes as (
    select * from {{ ref('stg_sage__purchase_credit_notes') }}
    where is_posted
),

quick_entries as (
    select * from {{ ref('stg_sage__purchase_quick_entries') }}
    where is_posted
),

payments as (
    select * from {{ ref('stg_sage__contact_payments') }}
    where transaction_type_id = 'VENDOR_PAYMENT'
        and payment_on_account_id is not null
        and not is_deleted
        and coalesce(payment_on_account_status_id, '') not in ('VOID', 'DRAFT', 'PRO_FORMA')
),

allocations as (
    select * from {{ ref('int_artefact_allocations_unioned') }}
),

documents as (
    select
        business_id,
        'invoice' as document_type,
        'purchase_invoice' as artefact_type,
        purchase_invoice_id as document_id,
        displayed_as as document_number,
        reference,
        contact_id,
        date as document_date,
        coalesce(due_date, date) as due_date,
        currency_id,
        exchange_rate,
        1 as sign,
        total_amount as total_doc,
        base_currency_total_amount as total_base,
        outstanding_amount,
        base_currency_outstanding_amount,
        status_id,
        transaction_id,
        cast(null as varchar) as contact_payment_id
    from invoices
    union all
    select
        business_id,
        'credit_note',
        'purchase_credit_note',
        purchase_credit_note_id,
        displayed_as,
        reference,
        contact_id,
        date,
        date,
        currency_id,
        exchange_rate,
        -1,
        total_amount,
        base_currency_total_amount,
        outstanding_amount,
        base_currency_outstanding_amount,
        status_id,
        transaction_id,
        cast(null as varchar)
    from credit_notes
    union all
    select
        business_id,
        case when quick_entry_type_id = 'CREDIT_NOTE' then 'quick_entry_credit_note' else 'quick_entry_invoice' end,
        'purchase_quick_entry',
        purchase_quick_entry_id,
        displayed_as,
        reference,
        contact_id,
        date,
        case when quick_entry_type_id = 'CREDIT_NOTE' then date else coalesce(due_date, date) end,
        currency_id,
        exchange_rate,
        case when quick_entry_type_id = 'CREDIT_NOTE' then -1 else 1 end,
        total_amount,
        base_currency_total_amount,
        outstanding_amount,
        base_currency_outstanding_amount,
        status_id,
        transaction_id,
        cast(null as varchar)
    from quick_entries
    union all
    select
        business_id,
        'payment_on_account',
        'payment_on_account',
        payment_on_account_id,
        coalesce(payment_on_account_displayed_as, displayed_as),
        coalesce(payment_on_account_reference, reference),
        coalesce(payment_on_account_contact_id, contact_id),
        coalesce(payment_on_account_date, date),
        coalesce(payment_on_account_date, date),
        coalesce(payment_on_account_currency_id, currency_id),
        coalesce(payment_on_account_exchange_rate, exchange_rate),
        -1,
        payment_on_account_total_amount,
        payment_on_account_base_currency_total_amount,
        payment_on_account_outstanding_amount,
        payment_on_account_base_currency_outstanding_amount,
        payment_on_account_status_id,
        transaction_id,
        contact_payment_id
    from payments
),

allocation_summary as (
    select
        business_id,
        artefact_type,
        artefact_id,
        sum(amount + discount) as allocated_doc,
        count(*) as allocation_count,
        max(allocation_date) as last_allocation_date
    from allocations
    group by business_id, artefact_type, artefact_id
),

final as (
    select
        documents.business_id,
        documents.document_type,
        documents.artefact_type,
        documents.document_id,
        documents.document_number,
        documents.reference,
        documents.contact_id,
        documents.document_date,
        documents.due_date,
        documents.currency_id,
        cast(documents.exchange_rate as decimal(38, 9)) as exchange_rate,
        cast(documents.sign as integer) as sign,
        cast(documents.total_doc as decimal(38, 9)) as total_doc,
        cast(documents.total_base as decimal(38, 9)) as total_base,
        cast(documents.outstanding_amount as decimal(38, 9)) as outstanding_amount,
        cast(documents.base_currency_outstanding_amount as decimal(38, 9)) as base_currency_outstanding_amount,
        documents.status_id,
        documents.transaction_id,
        documents.contact_payment_id,
        cast(coalesce(allocation_summary.allocated_doc, 0) as decimal(38, 9)) as allocated_doc,
        cast(coalesce(allocation_summary.allocation_count, 0) as integer) as allocation_count,
        allocation_summary.last_allocation_date,
        case
            when documents.total_doc - coalesce(allocation_summary.allocated_doc, 0) = 0
                then coalesce(allocation_summary.last_allocation_date, documents.document_date)
        end as settled_date
    from documents
    left join allocation_summary
        on documents.business_id = allocation_summary.business_id
        and documents.artefact_type = allocation_summary.artefact_type
        and documents.document_id = allocation_summary.artefact_id
)

select * from final
