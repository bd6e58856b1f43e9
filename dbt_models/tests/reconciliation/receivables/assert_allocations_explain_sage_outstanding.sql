-- R7 (completeness): nothing that cleared a document is missing. For every posted AR and AP document,
-- its total less every allocation and discount counted in int_artefact_allocations_unioned must equal
-- the outstanding amount Sage reports on it (document currency), and Sage's base-currency outstanding
-- must be zero exactly when the document-currency outstanding is. No tolerance: Sage's own cents.
-- Returns one row per document that disagrees.
with

documents as (
    select 'AR' as ledger, * from {{ ref('int_ar_documents') }}
    union all
    select 'AP' as ledger, * from {{ ref('int_ap_documents') }}
),

compared as (
    select
        ledger,
        business_id,
        document_type,
        document_id,
        document_number,
        total_doc,
        allocated_doc,
        allocation_count,
        total_doc - allocated_doc as outstanding_from_allocations,
        outstanding_amount,
        base_currency_outstanding_amount
    from documents
)

select
    business_id,
    {{ as_of_date() }} as as_of_date,
    outstanding_from_allocations - coalesce(outstanding_amount, 0) as difference,
    ledger,
    document_type,
    document_id,
    document_number,
    total_doc,
    allocated_doc,
    allocation_count,
    outstanding_from_allocations,
    outstanding_amount,
    base_currency_outstanding_amount
from compared
where outstanding_from_allocations <> coalesce(outstanding_amount, 0)
    or (coalesce(outstanding_amount, 0) = 0) <> (coalesce(base_currency_outstanding_amount, 0) = 0)
