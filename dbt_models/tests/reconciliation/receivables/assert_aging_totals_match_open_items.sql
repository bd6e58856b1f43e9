-- R8: the aged debtors / creditors reports lose nothing. Per business and as-of date, the aging
-- report's total (rpt_ar_aging / rpt_ap_aging: Σ total_outstanding, and Σ of its columns) and its count
-- of open documents must equal the open items it is built from (fct_ar_open_items / fct_ap_open_items:
-- Σ outstanding_base, count of rows), so no contact or document is dropped or doubled by a join. Exact:
-- the same cents summed two ways. Returns one row per ledger, business and date that disagrees.
{%- set ledgers = [('AR', 'fct_ar_open_items', 'rpt_ar_aging'), ('AP', 'fct_ap_open_items', 'rpt_ap_aging')] %}
with

{% for ledger, open_items_model, aging_model in ledgers %}
{{ ledger | lower }}_open_items as (
    select
        business_id,
        as_of_date,
        sum(outstanding_base) as open_items_base,
        count(*) as open_items
    from {{ ref(open_items_model) }}
    group by business_id, as_of_date
),

{{ ledger | lower }}_aging as (
    select
        business_id,
        as_of_date,
        sum(total_outstanding) as aging_total,
        sum(current_amount + d1_30 + d31_60 + d61_90 + d90_plus + unallocated_credits) as aging_columns_total,
        sum(open_documents) as aging_documents
    from {{ ref(aging_model) }}
    group by business_id, as_of_date
),

{{ ledger | lower }}_compared as (
    select
        '{{ ledger }}' as ledger,
        coalesce(open_items.business_id, aging.business_id) as business_id,
        coalesce(open_items.as_of_date, aging.as_of_date) as as_of_date,
        open_items.open_items_base,
        aging.aging_total,
        aging.aging_columns_total,
        open_items.open_items,
        aging.aging_documents
    from {{ ledger | lower }}_open_items as open_items
    full outer join {{ ledger | lower }}_aging as aging
        on open_items.business_id = aging.business_id
        and open_items.as_of_date = aging.as_of_date
),
{% endfor %}

compared as (
    select * from ar_compared
    union all
    select * from ap_compared
)

select
    business_id,
    as_of_date,
    coalesce(open_items_base, 0) - coalesce(aging_total, 0) as difference,
    ledger,
    open_items_base,
    aging_total,
    aging_columns_total,
    open_items,
    aging_documents
from compared
where open_items_base is null
    or aging_total is null
    or open_items_base <> aging_total
    or open_items_base <> aging_columns_total
    or open_items <> aging_documents
