{#- R5 for one ledger: at every as-of date, open items in base currency (`open_items_model`) equal the
    balance of the account(s) with role `account_role` (int_ledger_account_roles), `sign` × (debit −
    credit); within one cent per pro-rated item. One row per business and date that does not tie. -#}
{% macro control_account_tie(open_items_model, account_role, sign) -%}
with

as_of_dates as (
    select * from {{ open_item_as_of_dates() }} as dates
),

open_items as (
    select
        business_id,
        as_of_date,
        sum(outstanding_base) as open_items_base,
        sum(case when is_outstanding_base_prorated then 1 else 0 end) as prorated_items
    from {{ ref(open_items_model) }}
    group by business_id, as_of_date
),

control_accounts as (
    select business_id, ledger_account_id
    from {{ ref('int_ledger_account_roles') }}
    where account_role = '{{ account_role }}'
),

control_entries as (
    select
        entries.business_id,
        entries.entry_date,
        entries.net_amount
    from {{ ref('int_ledger_entries_signed') }} as entries
    inner join control_accounts
        on entries.business_id = control_accounts.business_id
        and entries.ledger_account_id = control_accounts.ledger_account_id
),

control_balances as (
    select
        as_of_dates.business_id,
        as_of_dates.as_of_date,
        {{ sign }} * sum(control_entries.net_amount) as control_balance
    from as_of_dates
    inner join control_entries
        on as_of_dates.business_id = control_entries.business_id
        and control_entries.entry_date <= as_of_dates.as_of_date
    group by as_of_dates.business_id, as_of_dates.as_of_date
),

compared as (
    select
        as_of_dates.business_id,
        as_of_dates.as_of_date,
        coalesce(open_items.open_items_base, 0) as open_items_base,
        coalesce(control_balances.control_balance, 0) as control_balance,
        coalesce(open_items.open_items_base, 0) - coalesce(control_balances.control_balance, 0) as difference,
        coalesce(open_items.prorated_items, 0) * {{ var('reconciliation_tolerance') }} as allowed_difference
    from as_of_dates
    left join open_items
        on as_of_dates.business_id = open_items.business_id
        and as_of_dates.as_of_date = open_items.as_of_date
    left join control_balances
        on as_of_dates.business_id = control_balances.business_id
        and as_of_dates.as_of_date = control_balances.as_of_date
)

select * from compared
where abs(difference) > allowed_difference
{%- endmacro %}
