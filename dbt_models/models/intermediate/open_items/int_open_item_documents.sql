-- One row per posted document of either side of the books: receivables (ledger_side 'receivable':
-- sales invoices, sales credit notes, sales quick entries and customer payments on account, the
-- unallocated part of a CUSTOMER_RECEIPT) and payables ('payable': the purchase_ tables and supplier
-- payments on account, of a VENDOR_PAYMENT). Posted = not void, not draft or pro forma, not deleted;
-- a payment on account counts while its payment is not deleted. Amounts are Sage's, unsigned as Sage
-- shows them; `sign` (+1 invoices, −1 credit notes and payments on account) says how they count
-- towards what customers owe us (receivable) or what we owe suppliers (payable). Credit notes and
-- payments on account have no due date: they are due on their own date. The allocation summary
-- (allocated_doc, allocation_count, settled_date) comes from int_artefact_allocations_unioned;
-- settled_date is the date the document was cleared in full.
-- The two sides have the same shape; `ledger_sides` below names what differs: the tables, the type of
-- the contact payments whose unallocated part is a payment on account, and the document number (sales
-- documents have their own invoice / credit note number, purchase ones only Sage's displayed_as).
-- int_ar_documents and int_ap_documents are this model's two sides.
-- A table, not a view: its two sides' 24 data tests, the open items and the forecast each read it, and as
-- a view each would join every document to the allocations again (at 1 M invoices about 0.4 s a reader).
{{ config(materialized='table') }}
{%- set ledger_sides = {
    'receivable': {
        'artefact_prefix': 'sales',
        'invoices': ref('stg_sage__sales_invoices'),
        'credit_notes': ref('stg_sage__sales_credit_notes'),
        'quick_entries': ref('stg_sage__sales_quick_entries'),
        'payment_type': 'CUSTOMER_RECEIPT',
        'invoice_number': 'coalesce(invoice_number, displayed_as)',
        'credit_note_number': 'coalesce(credit_note_number, displayed_as)',
    },
    'payable': {
        'artefact_prefix': 'purchase',
        'invoices': ref('stg_sage__purchase_invoices'),
        'credit_notes': ref('stg_sage__purchase_credit_notes'),
        'quick_entries': ref('stg_sage__purchase_quick_entries'),
        'payment_type': 'VENDOR_PAYMENT',
        'invoice_number': 'displayed_as',
        'credit_note_number': 'displayed_as',
    },
} %}
with

payments as (
    select * from {{ ref('stg_sage__contact_payments') }}
    where payment_on_account_id is not null
        and not is_deleted
        and coalesce(payment_on_account_status_id, '') not in ('VOID', 'DRAFT', 'PRO_FORMA')
),

allocations as (
    select * from {{ ref('int_artefact_allocations_unioned') }}
),

documents as (
{%- for ledger_side, side in ledger_sides.items() %}
    select
        business_id,
        '{{ ledger_side }}' as ledger_side,
        'invoice' as document_type,
        '{{ side.artefact_prefix }}_invoice' as artefact_type,
        {{ side.artefact_prefix }}_invoice_id as document_id,
        {{ side.invoice_number }} as document_number,
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
    from {{ side.invoices }}
    where is_posted
    union all
    select
        business_id,
        '{{ ledger_side }}',
        'credit_note',
        '{{ side.artefact_prefix }}_credit_note',
        {{ side.artefact_prefix }}_credit_note_id,
        {{ side.credit_note_number }},
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
    from {{ side.credit_notes }}
    where is_posted
    union all
    select
        business_id,
        '{{ ledger_side }}',
        case when quick_entry_type_id = 'CREDIT_NOTE' then 'quick_entry_credit_note' else 'quick_entry_invoice' end,
        '{{ side.artefact_prefix }}_quick_entry',
        {{ side.artefact_prefix }}_quick_entry_id,
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
    from {{ side.quick_entries }}
    where is_posted
    union all
    select
        business_id,
        '{{ ledger_side }}',
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
    where transaction_type_id = '{{ side.payment_type }}'
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
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
        documents.ledger_side,
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
