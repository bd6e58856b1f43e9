-- One row per allocation line as Sage lists it, from all three places it is listed: an artefact's own
-- payments_allocations, a contact payment's allocated_artefacts and a contact allocation's
-- allocated_artefacts. The same allocation therefore appears up to twice (on the document, and on the
-- payment or contact allocation); int_artefact_allocations_unioned keeps one of them, the reconciliation
-- tests compare the two where both lists were read (int_sage_resources_loaded: a Read Only Sage user
-- cannot read contact allocations). Lines of deleted payments and contact allocations are left out (a deleted
-- payment cleared nothing); lines of deleted artefacts are kept and flagged.
--
-- `amount` and `discount` are in the artefact's document currency and positive when they reduce what is
-- outstanding on the artefact, whatever its type. Sage writes payments_allocations that way already.
-- allocated_artefacts are signed from the payment's side: a contact allocation lists the invoice positive
-- and the credit note (or payment on account) negative, and a receipt that nets a credit note lists it
-- negative; so those lines are multiplied by the artefact's natural sign (+1 invoice, −1 credit) and by
-- the payment's direction (−1 for CUSTOMER_REFUND / VENDOR_REFUND, which pay credits back).
-- A table, not a view: its tests and the allocations model read it several times, and a million-
-- invoice load re-running the union for each ran DuckDB out of memory (benchmarks/marts_build.py).
{{ config(materialized='table') }}
{%- set document_allocation_tables = [
    ('stg_sage__sales_invoices_payments_allocations', 'sales_invoice', 'sales_invoice_id'),
    ('stg_sage__sales_credit_notes_payments_allocations', 'sales_credit_note', 'sales_credit_note_id'),
    ('stg_sage__sales_quick_entries_payments_allocations', 'sales_quick_entry', 'sales_quick_entry_id'),
    ('stg_sage__purchase_invoices_payments_allocations', 'purchase_invoice', 'purchase_invoice_id'),
    ('stg_sage__purchase_credit_notes_payments_allocations', 'purchase_credit_note', 'purchase_credit_note_id'),
    ('stg_sage__purchase_quick_entries_payments_allocations', 'purchase_quick_entry', 'purchase_quick_entry_id'),
] %}
{%- set artefact_tables = [
    ('stg_sage__sales_invoices', 'sales_invoice', 'sales_invoice_id', 'AR', '1'),
    ('stg_sage__sales_credit_notes', 'sales_credit_note', 'sales_credit_note_id', 'AR', '-1'),
    ('stg_sage__sales_quick_entries', 'sales_quick_entry', 'sales_quick_entry_id', 'AR',
        "case when quick_entry_type_id = 'CREDIT_NOTE' then -1 else 1 end"),
    ('stg_sage__purchase_invoices', 'purchase_invoice', 'purchase_invoice_id', 'AP', '1'),
    ('stg_sage__purchase_credit_notes', 'purchase_credit_note', 'purchase_credit_note_id', 'AP', '-1'),
    ('stg_sage__purchase_quick_entries', 'purchase_quick_entry', 'purchase_quick_entry_id', 'AP',
        "case when quick_entry_type_id = 'CREDIT_NOTE' then -1 else 1 end"),
] %}
with

contact_payments as (
    select * from {{ ref('stg_sage__contact_payments') }}
),

contact_allocations as (
    select * from {{ ref('stg_sage__contact_allocations') }}
),

-- Every artefact an allocation can clear, whatever its status: resolves the type of the artefact a
-- payment or contact-allocation line points at. Payments on account live inside their contact payment.
artefacts as (
    {%- for model, artefact_type, id_column, ledger, natural_sign in artefact_tables %}
    select
        business_id,
        {{ id_column }} as artefact_id,
        '{{ artefact_type }}' as artefact_type,
        '{{ ledger }}' as ledger,
        {{ natural_sign }} as natural_sign,
        contact_id,
        is_deleted
    from {{ ref(model) }}
    union all
    {%- endfor %}
    select
        business_id,
        payment_on_account_id as artefact_id,
        'payment_on_account' as artefact_type,
        case when transaction_type_id like 'VENDOR%' then 'AP' else 'AR' end as ledger,
        -1 as natural_sign,
        coalesce(payment_on_account_contact_id, contact_id) as contact_id,
        is_deleted
    from contact_payments
    where payment_on_account_id is not null
),

-- The documents' own payments_allocations lists that were read for a business (int_sage_resources_loaded).
document_lists_read as (
    select business_id, artefact_type
    from {{ ref('int_sage_resources_loaded') }}
    where artefact_type is not null
),

-- The documents' own payments_allocations: the artefact is the document that lists them.
from_documents as (
    {%- for model, artefact_type, id_column in document_allocation_tables %}
    select
        business_id,
        'payments_allocations' as allocation_source,
        {{ id_column }} as source_id,
        line_index,
        '{{ artefact_type }}' as artefact_type,
        {{ id_column }} as artefact_id,
        date as allocation_date,
        type as allocation_type,
        contact_payment_id,
        contact_allocation_id,
        reference,
        amount,
        discount
    from {{ ref(model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

from_contact_payments as (
    select
        lines.business_id,
        'contact_payment' as allocation_source,
        lines.contact_payment_id as source_id,
        lines.line_index,
        artefacts.artefact_type,
        lines.artefact_id,
        contact_payments.date as allocation_date,
        contact_payments.transaction_type_id as allocation_type,
        lines.contact_payment_id,
        cast(null as varchar) as contact_allocation_id,
        contact_payments.reference,
        lines.amount * coalesce(artefacts.natural_sign, 1)
            * case when contact_payments.transaction_type_id like '%REFUND' then -1 else 1 end as amount,
        lines.discount * coalesce(artefacts.natural_sign, 1)
            * case when contact_payments.transaction_type_id like '%REFUND' then -1 else 1 end as discount
    from {{ ref('stg_sage__contact_payments_allocated_artefacts') }} as lines
    inner join contact_payments
        on lines.business_id = contact_payments.business_id
        and lines.contact_payment_id = contact_payments.contact_payment_id
    left join artefacts
        on lines.business_id = artefacts.business_id
        and lines.artefact_id = artefacts.artefact_id
    where not contact_payments.is_deleted
),

-- Contact allocations carry no discount and no date per line: the allocation's date applies.
from_contact_allocations as (
    select
        lines.business_id,
        'contact_allocation' as allocation_source,
        lines.contact_allocation_id as source_id,
        lines.line_index,
        artefacts.artefact_type,
        lines.artefact_id,
        contact_allocations.date as allocation_date,
        contact_allocations.transaction_type_id as allocation_type,
        cast(null as varchar) as contact_payment_id,
        lines.contact_allocation_id,
        cast(null as varchar) as reference,
        lines.amount * coalesce(artefacts.natural_sign, 1) as amount,
        0 as discount
    from {{ ref('stg_sage__contact_allocations_allocated_artefacts') }} as lines
    inner join contact_allocations
        on lines.business_id = contact_allocations.business_id
        and lines.contact_allocation_id = contact_allocations.contact_allocation_id
    left join artefacts
        on lines.business_id = artefacts.business_id
        and lines.artefact_id = artefacts.artefact_id
    where not contact_allocations.is_deleted
),

unioned as (
    select * from from_documents
    union all
    select * from from_contact_payments
    union all
    select * from from_contact_allocations
),

-- A document's payments_allocations line whose payment or contact allocation is deleted cleared nothing.
deleted_payments as (
    select business_id, contact_payment_id from contact_payments where is_deleted
),

deleted_allocations as (
    select business_id, contact_allocation_id from contact_allocations where is_deleted
),

final as (
    select
        unioned.business_id,
        unioned.allocation_source,
        unioned.source_id,
        cast(unioned.line_index as integer) as line_index,
        artefacts.ledger,
        unioned.artefact_type,
        unioned.artefact_id,
        unioned.allocation_date,
        unioned.allocation_type,
        unioned.contact_payment_id,
        unioned.contact_allocation_id,
        unioned.reference,
        cast(coalesce(unioned.amount, 0) as decimal(38, 9)) as amount,
        cast(coalesce(unioned.discount, 0) as decimal(38, 9)) as discount,
        artefacts.contact_id,
        cast(artefacts.natural_sign as integer) as natural_sign,
        coalesce(artefacts.is_deleted, false) as is_artefact_deleted,
        -- Which list is the one to count: documents' own lists for documents (when the business's list of
        -- that document type was read; else the payments' and contact allocations'), payments' and contact
        -- allocations' lists for payments on account (which have no payments_allocations list).
        case
            when unioned.artefact_type = 'payment_on_account' then unioned.allocation_source <> 'payments_allocations'
            when document_lists_read.artefact_type is null then unioned.allocation_source <> 'payments_allocations'
            else unioned.allocation_source = 'payments_allocations'
        end as is_primary
    from unioned
    left join artefacts
        on unioned.business_id = artefacts.business_id
        and unioned.artefact_type = artefacts.artefact_type
        and unioned.artefact_id = artefacts.artefact_id
    left join document_lists_read
        on unioned.business_id = document_lists_read.business_id
        and unioned.artefact_type = document_lists_read.artefact_type
    left join deleted_payments
        on unioned.business_id = deleted_payments.business_id
        and unioned.contact_payment_id = deleted_payments.contact_payment_id
    left join deleted_allocations
        on unioned.business_id = deleted_allocations.business_id
        and unioned.contact_allocation_id = deleted_allocations.contact_allocation_id
    where deleted_payments.contact_payment_id is null
        and deleted_allocations.contact_allocation_id is null
)

select * from final
