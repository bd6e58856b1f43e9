-- R7 (agreement): the three places Sage lists an allocation tell the same story. Every receipt, payment,
-- refund or contact allocation that a document's payments_allocations names must appear on that
-- payment's / contact allocation's allocated_artefacts for the same document with the same amount and
-- discount (document currency, positive = less outstanding) and the same date, and vice versa.
-- Payments on account are left out (they have no payments_allocations list of their own), as are lines
-- on deleted artefacts. A payments_allocations line naming neither a payment nor a contact allocation
-- cannot be checked and is returned too. Returns one row per artefact × payment / allocation that
-- disagrees.
with

lines as (
    select * from {{ ref('int_artefact_allocation_lines') }}
    where artefact_type <> 'payment_on_account'
        and not is_artefact_deleted
),

on_documents as (
    select
        business_id,
        artefact_type,
        artefact_id,
        coalesce(contact_payment_id, contact_allocation_id) as cleared_by_id,
        sum(amount) as amount,
        sum(discount) as discount,
        min(allocation_date) as first_date,
        max(allocation_date) as last_date
    from lines
    where allocation_source = 'payments_allocations'
    group by business_id, artefact_type, artefact_id, coalesce(contact_payment_id, contact_allocation_id)
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
)

select * from compared
where cleared_by_id is null
    or document_amount is null
    or payment_amount is null
    or document_amount <> payment_amount
    or document_discount <> payment_discount
    or document_first_date <> payment_date
    or document_last_date <> payment_date
