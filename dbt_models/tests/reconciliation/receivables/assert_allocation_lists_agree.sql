-- R7 (agreement): the three places Sage lists an allocation tell the same story. Every receipt, payment,
-- refund or contact allocation that a document's payments_allocations names must appear on that
-- payment's / contact allocation's allocated_artefacts for the same document with the same amount and
-- discount (document currency, positive = less outstanding) and the same date, and vice versa.
-- Only lists that were read for the business are compared (int_sage_resources_loaded): a Read Only
-- Sage user cannot read contact allocations, and a line whose counterpart list was not read is not a
-- disagreement. Payments on account are left out (they have no payments_allocations list of their own),
-- as are lines on deleted artefacts. A payments_allocations line naming neither a payment nor a contact
-- allocation cannot be checked and is returned too. Returns one row per artefact × payment / allocation
-- that disagrees.
with

lines as (
    select * from {{ ref('int_artefact_allocation_lines') }}
    where artefact_type <> 'payment_on_account'
        and not is_artefact_deleted
),

lists_read as (
    select business_id, sage_table, artefact_type from {{ ref('int_sage_resources_loaded') }}
),

on_documents as (
    select
        business_id,
        artefact_type,
        artefact_id,
        coalesce(contact_payment_id, contact_allocation_id) as cleared_by_id,
        -- the list the counterpart is on
        case
            when contact_payment_id is not null then 'contact_payments'
            when contact_allocation_id is not null then 'contact_allocations'
        end as counterpart_list,
        sum(amount) as amount,
        sum(discount) as discount,
        min(allocation_date) as first_date,
        max(allocation_date) as last_date
    from lines
    where allocation_source = 'payments_allocations'
    group by
        business_id,
        artefact_type,
        artefact_id,
        coalesce(contact_payment_id, contact_allocation_id),
        case
            when contact_payment_id is not null then 'contact_payments'
            when contact_allocation_id is not null then 'contact_allocations'
        end
),

on_payments_and_allocations as (
    select
        business_id,
        artefact_type,
        artefact_id,
        source_id as cleared_by_id,
        sum(amount) as amount,
        sum(discount) as discount,
        min(allocation_date) as first_date,
        max(allocation_date) as last_date
    from lines
    where allocation_source in ('contact_payment', 'contact_allocation')
    group by business_id, artefact_type, artefact_id, source_id
),

compared as (
    select
        coalesce(on_documents.business_id, on_payments_and_allocations.business_id) as business_id,
        coalesce(on_documents.artefact_type, on_payments_and_allocations.artefact_type) as artefact_type,
        coalesce(on_documents.artefact_id, on_payments_and_allocations.artefact_id) as artefact_id,
        coalesce(on_documents.cleared_by_id, on_payments_and_allocations.cleared_by_id) as cleared_by_id,
        on_documents.counterpart_list,
        on_documents.amount as document_amount,
        on_payments_and_allocations.amount as payment_amount,
        on_documents.discount as document_discount,
        on_payments_and_allocations.discount as payment_discount,
        on_documents.first_date as document_first_date,
        on_documents.last_date as document_last_date,
        on_payments_and_allocations.first_date as payment_date
    from on_documents
    full outer join on_payments_and_allocations
        on on_documents.business_id = on_payments_and_allocations.business_id
        and on_documents.artefact_type = on_payments_and_allocations.artefact_type
        and on_documents.artefact_id = on_payments_and_allocations.artefact_id
        and on_documents.cleared_by_id = on_payments_and_allocations.cleared_by_id
),

-- A line with no counterpart only disagrees when the list its counterpart belongs on was read.
comparable as (
    select compared.*
    from compared
    left join lists_read as counterpart_lists
        on compared.business_id = counterpart_lists.business_id
        and compared.counterpart_list = counterpart_lists.sage_table
    left join lists_read as document_lists
        on compared.business_id = document_lists.business_id
        and compared.artefact_type = document_lists.artefact_type
    where not (compared.payment_amount is null and compared.counterpart_list is not null
            and counterpart_lists.sage_table is null)
        and not (compared.document_amount is null and document_lists.artefact_type is null)
)

select
    business_id,
    coalesce(payment_date, document_first_date) as as_of_date,
    coalesce(document_amount, 0) - coalesce(payment_amount, 0) as difference,
    artefact_type,
    artefact_id,
    cleared_by_id,
    counterpart_list,
    document_amount,
    payment_amount,
    document_discount,
    payment_discount,
    document_first_date,
    document_last_date,
    payment_date
from comparable
where cleared_by_id is null
    or document_amount is null
    or payment_amount is null
    or document_amount <> payment_amount
    or document_discount <> payment_discount
    or document_first_date <> payment_date
    or document_last_date <> payment_date
