-- One row per allocation that cleared an AR or AP artefact: a receipt, payment, refund or contact
-- allocation (credit note against invoice, payment on account against invoice) taking `amount` and
-- `discount` (document currency, positive = less outstanding) off the artefact on `allocation_date`.
-- Each allocation is counted once, from the list that is the source of truth for its artefact: the
-- document's own payments_allocations for invoices, credit notes and quick entries; the contact
-- payments' and contact allocations' allocated_artefacts for payments on account, which have no
-- payments_allocations list (those lines carry no date: the payment's / allocation's date is used).
-- Where a business's contact allocations could not be read, what they cleared on payments on account is
-- inferred from the documents' lists (int_on_account_allocations_inferred).
-- Allocations of deleted payments or contact allocations, and on deleted artefacts, are left out.
{%- set columns = [
    'business_id', 'ledger', 'artefact_type', 'artefact_id', 'allocation_date', 'amount', 'discount',
    'allocation_source', 'source_id', 'line_index', 'allocation_type', 'contact_payment_id',
    'contact_allocation_id', 'reference',
] %}
with

lines as (
    select * from {{ ref('int_artefact_allocation_lines') }}
),

inferred as (
    select * from {{ ref('int_on_account_allocations_inferred') }}
),

final as (
    select {{ columns | join(', ') }}
    from lines
    where is_primary
        and not is_artefact_deleted
        and artefact_type is not null
    union all
    select {{ columns | join(', ') }}
    from inferred
)

select * from final
