-- One row per business and Sage list that was read for it, for the lists the marts can do without or
-- replace by another: which of the three allocation lists (a document's payments_allocations, a contact
-- payment's allocated_artefacts, a contact allocation's allocated_artefacts) the marts may count on.
--
-- A Read Only Sage user cannot read /contact_allocations (it needs Full Access), so a business can load
-- without them; the receivables then rest on the other lists (int_artefact_allocation_lines,
-- int_on_account_allocations_inferred) and the allocation reconciliations compare only lists that were read.
--
-- "Read" is decided here, and only here: the business has rows in the list, or the source read the
-- list whole for it at least once (sage_resource_outcomes: outcome 'loaded'), which tells a list that
-- is readable but empty from one Sage refused (403) or does not offer (404). Loads made before the
-- source recorded outcomes fall back on rows alone.
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

with_rows as (
    {%- for sage_table, model, artefact_type in lists %}
    select * from {{ sage_table }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

read_whole as (
    select distinct business_id, resource
    from {{ ref('stg_sage__sage_resource_outcomes') }}
    where outcome = 'loaded'
),

read_but_empty as (
    {%- for sage_table, model, artefact_type in lists %}
    select
        read_whole.business_id,
        '{{ sage_table }}' as sage_table,
        {% if artefact_type %}'{{ artefact_type }}'{% else %}cast(null as varchar){% endif %} as artefact_type,
        0 as row_count
    from read_whole
    where read_whole.resource = '{{ sage_table.split("__")[0] }}'
        and not exists (
            select 1 from with_rows
            where with_rows.business_id = read_whole.business_id
                and with_rows.sage_table = '{{ sage_table }}'
        )
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select * from with_rows
    union all
    select * from read_but_empty
)

select
    business_id,
    sage_table,
    artefact_type,
    cast(row_count as bigint) as row_count
from final
