-- One row per business and Sage list that was read for it, for the lists the marts can do without or
-- replace by another: which of the three allocation lists (a document's payments_allocations, a contact
-- payment's allocated_artefacts, a contact allocation's allocated_artefacts) the marts may count on.
--
-- A Read Only Sage user cannot read /contact_allocations (it needs Full Access), so a business can load
-- without them; the receivables then rest on the other lists (int_artefact_allocation_lines,
-- int_on_account_allocations_inferred) and the allocation reconciliations compare only lists that were read.
--
-- "Read" is decided here, and only here: for now, the business has rows in the list. (A business whose
-- list is readable but empty is treated as unread; every list that can replace it then says the same.)
-- When the source records which resources it could read per business, this model reads that instead.
{%- set lists = [
    ('contact_allocations', 'stg_sage__contact_allocations', none),
    ('contact_payments', 'stg_sage__contact_payments', none),
    ('sales_invoices__payments_allocations', 'stg_sage__sales_invoices_payments_allocations', 'sales_invoice'),
    ('sales_credit_notes__payments_allocations', 'stg_sage__sales_credit_notes_payments_allocations', 'sales_credit_note'),
    ('sales_quick_entries__payments_allocations', 'stg_sage__sales_quick_entries_payments_allocations', 'sales_quick_entry'),
    ('purchase_invoices__payments_allocations', 'stg_sage__purchase_invoices_payments_allocations', 'purchase_invoice'),
    ('purchase_credit_notes__payments_allocations', 'stg_sage__purchase_credit_notes_payments_allocations', 'purchase_credit_note'),
    ('purchase_quick_entries__payments_allocations', 'stg_sage__purchase_quick_entries_payments_allocations', 'purchase_quick_entry'),
] %}

with

{% for sage_table, model, artefact_type in lists %}
{{ sage_table }} as (
    select
        business_id,
        '{{ sage_table }}' as sage_table,
        {% if artefact_type %}'{{ artefact_type }}'{% else %}cast(null as varchar){% endif %} as artefact_type,
        count(*) as row_count
    from {{ ref(model) }}
    group by business_id
),
{% endfor %}

final as (
    {%- for sage_table, model, artefact_type in lists %}
    select * from {{ sage_table }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    business_id,
    sage_table,
    artefact_type,
    cast(row_count as bigint) as row_count
from final
