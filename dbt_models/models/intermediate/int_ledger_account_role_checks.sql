-- One row per business and account role (seeds/sage_account_role_types.csv): whether the books need an
-- account in that role, how many accounts int_ledger_account_roles gave it, and when none did, the one
-- sentence that says so and how to fix it. Read by tests/roles/ (an error for the roles the marts cannot do
-- without, a warning for the others).
--
-- Needed: debtors (creditors) control when the business has posted sales (purchase) documents; sales
-- (purchase) tax when one of them carries tax, in an account of its own or the tax liability; a bank and
-- retained earnings always. The tax liability alone is never needed.
{%- set documents = [
    ('sales', 'stg_sage__sales_invoices'),
    ('sales', 'stg_sage__sales_credit_notes'),
    ('sales', 'stg_sage__sales_quick_entries'),
    ('purchase', 'stg_sage__purchase_invoices'),
    ('purchase', 'stg_sage__purchase_credit_notes'),
    ('purchase', 'stg_sage__purchase_quick_entries'),
] %}

with

businesses as (
    select business_id, name from {{ ref('stg_sage__businesses') }}
),

role_types as (
    select * from {{ ref('sage_account_role_types') }}
),

roles as (
    select * from {{ ref('int_ledger_account_roles') }}
    where account_role is not null
),

documents as (
    {%- for side, model in documents %}
    select
        business_id,
        '{{ side }}' as ledger_side,
        case when coalesce(base_currency_tax_amount, 0) <> 0 then 1 else 0 end as has_tax
    from {{ ref(model) }}
    where is_posted
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

document_counts as (
    select
        business_id,
        sum(case when ledger_side = 'sales' then 1 else 0 end) as sales_documents,
        sum(case when ledger_side = 'sales' then has_tax else 0 end) as taxed_sales_documents,
        sum(case when ledger_side = 'purchase' then 1 else 0 end) as purchase_documents,
        sum(case when ledger_side = 'purchase' then has_tax else 0 end) as taxed_purchase_documents
    from documents
    group by business_id
),

-- The roles that satisfy each role's need: the tax liability stands in for sales or purchase tax.
satisfying_roles as (
    select account_role, account_role as satisfied_by from role_types
    union all
    select 'sales_tax', 'tax_liability'
    union all
    select 'purchase_tax', 'tax_liability'
),

accounts_found as (
    select
        roles.business_id,
        satisfying_roles.account_role,
        count(distinct roles.ledger_account_id) as accounts_found
    from roles
    inner join satisfying_roles
        on roles.account_role = satisfying_roles.satisfied_by
    group by roles.business_id, satisfying_roles.account_role
),

checks as (
    select
        businesses.business_id,
        businesses.name as business_name,
        role_types.account_role,
        role_types.is_required,
        role_types.identified_by,
        case role_types.account_role
            when 'debtors_control' then coalesce(document_counts.sales_documents, 0)
            when 'creditors_control' then coalesce(document_counts.purchase_documents, 0)
            when 'sales_tax' then coalesce(document_counts.taxed_sales_documents, 0)
            when 'purchase_tax' then coalesce(document_counts.taxed_purchase_documents, 0)
            when 'tax_liability' then 0
            else 1
        end as needed_by,
        coalesce(accounts_found.accounts_found, 0) as accounts_found
    from businesses
    cross join role_types
    left join document_counts
        on businesses.business_id = document_counts.business_id
    left join accounts_found
        on businesses.business_id = accounts_found.business_id
        and role_types.account_role = accounts_found.account_role
),

final as (
    select
        business_id,
        business_name,
        account_role,
        is_required,
        cast(needed_by as integer) as needed_by,
        cast(accounts_found as integer) as accounts_found,
        needed_by > 0 and accounts_found = 0 as is_missing,
        case when needed_by > 0 and accounts_found = 0 then
            'business ' || coalesce(business_name, business_id) || ' (' || business_id || '): no '
            || replace(account_role, '_', ' ') || ' account found (' || identified_by || '): '
            || 'add a row to seeds/sage_account_roles.csv (business_id ' || business_id
            || ', ledger_account_id or nominal_code of the account, account_role ' || account_role || ')'
        end as message
    from checks
)

select * from final
