-- R6: today's open items are Sage's own. At the latest as-of date (as_of_date()), every posted AR and
-- AP document (invoice, credit note, quick entry, payment on account) must show in fct_ar_open_items /
-- fct_ap_open_items exactly what Sage says is outstanding on it: outstanding_doc = outstanding_amount
-- and outstanding_base = base_currency_outstanding_amount (for a payment on account, its
-- payment_on_account outstanding amounts), signed (credits negative); a document Sage shows settled must
-- not be open, and an open one must not be missing. No tolerance: both sides are Sage's cents.
-- Documents dated after as_of_date(), or with allocations dated after it (only possible when the
-- as_of_date var is set before the day the books were read), are not comparable and are skipped.
-- Returns one row per document that disagrees.
{%- set ledgers = [('AR', 'int_ar_documents', 'fct_ar_open_items'), ('AP', 'int_ap_documents', 'fct_ap_open_items')] %}
with

{% for ledger, documents_model, open_items_model in ledgers %}
{{ ledger | lower }}_compared as (
    select
        '{{ ledger }}' as ledger,
        coalesce(documents.business_id, open_items.business_id) as business_id,
        coalesce(documents.document_id, open_items.document_id) as document_id,
        coalesce(documents.document_type, open_items.document_type) as document_type,
        coalesce(documents.document_number, open_items.document_number) as document_number,
        documents.sign * documents.outstanding_amount as sage_outstanding_doc,
        coalesce(open_items.outstanding_doc, 0) as outstanding_doc,
        documents.sign * documents.base_currency_outstanding_amount as sage_outstanding_base,
        coalesce(open_items.outstanding_base, 0) as outstanding_base
    from (
        select * from {{ ref(documents_model) }}
        where document_date <= {{ as_of_date() }}
            and (last_allocation_date is null or last_allocation_date <= {{ as_of_date() }})
    ) as documents
    full outer join (
        select * from {{ ref(open_items_model) }}
        where is_latest
    ) as open_items
        on documents.business_id = open_items.business_id
        and documents.document_type = open_items.document_type
        and documents.document_id = open_items.document_id
),
{% endfor %}

compared as (
    select * from ar_compared
    union all
    select * from ap_compared
)

select
    business_id,
    {{ as_of_date() }} as as_of_date,
    coalesce(sage_outstanding_doc, 0) - outstanding_doc as difference,
    ledger,
    document_id,
    document_type,
    document_number,
    sage_outstanding_doc,
    outstanding_doc,
    sage_outstanding_base,
    outstanding_base
from compared
where sage_outstanding_doc is null
    or sage_outstanding_doc <> outstanding_doc
    or coalesce(sage_outstanding_base, 0) <> outstanding_base
