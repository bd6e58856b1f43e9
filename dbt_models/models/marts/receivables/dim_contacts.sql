-- One row per contact (customer, supplier or both) of each business, deleted contacts included and
-- flagged, so every contact_id a document or ledger entry carries finds its row. Contact types come from
-- the contacts_contact_types child (CUSTOMER, VENDOR, ...).
with

contacts as (
    select * from {{ ref('stg_sage__contacts') }}
),

contact_types as (
    select * from {{ ref('stg_sage__contacts_contact_types') }}
),

types_by_contact as (
    select
        business_id,
        contact_id,
        max(case when contact_type_id = 'CUSTOMER' then 1 else 0 end) = 1 as is_customer,
        max(case when contact_type_id = 'VENDOR' then 1 else 0 end) = 1 as is_supplier,
        {{ dbt.listagg('contact_type_id', "','", 'order by contact_type_id') }} as contact_type_ids
    from (
        select distinct business_id, contact_id, contact_type_id from contact_types
    ) as distinct_types
    group by business_id, contact_id
),

final as (
    select
        contacts.business_id,
        contacts.contact_id,
        contacts.name as contact_name,
        contacts.reference as contact_reference,
        coalesce(types_by_contact.contact_type_ids, '') as contact_type_ids,
        coalesce(types_by_contact.is_customer, false) as is_customer,
        coalesce(types_by_contact.is_supplier, false) as is_supplier,
        contacts.currency_id,
        cast(contacts.credit_limit as decimal(38, 9)) as credit_limit,
        cast(contacts.credit_days as integer) as credit_days,
        contacts.email,
        coalesce(contacts.is_active, true) and not contacts.is_deleted as is_active,
        contacts.is_deleted
    from contacts
    left join types_by_contact
        on contacts.business_id = types_by_contact.business_id
        and contacts.contact_id = types_by_contact.contact_id
)

select * from final
