-- One row per ledger account, classified through the type seed (statement, class, natural side,
-- report section) and given the cash-flow line a bank movement against it falls on:
-- bank accounts are internal transfers, then control accounts (customers, suppliers, tax), then
-- payroll accounts, then the account type's default.
with accounts as (
    select * from {{ ref('stg_sage__ledger_accounts') }}
),

types as (
    select * from {{ ref('sage_ledger_account_types') }}
),

controls as (
    select * from {{ ref('sage_control_accounts') }}
),

payroll as (
    select lower(ledger_account_name) as account_name_key from {{ ref('sage_payroll_accounts') }}
),

banks as (
    select business_id, ledger_account_id, bank_account_id
    from {{ ref('stg_sage__bank_accounts') }}
    where not is_deleted
)

select
    accounts.business_id,
    accounts.ledger_account_id,
    accounts.nominal_code,
    accounts.name as account_name,
    accounts.displayed_as as account_displayed_as,
    accounts.ledger_account_type_id,
    accounts.ledger_account_group_id,
    types.statement,
    types.account_class,
    types.normal_balance,
    types.report_section,
    types.ordinal,
    coalesce(accounts.is_control_account, false) as is_control_account,
    accounts.control_name,
    banks.bank_account_id,
    banks.bank_account_id is not null as is_bank_account,
    case
        when accounts.ledger_account_type_id = 'BANK' or banks.bank_account_id is not null then 'internal_transfer'
        when controls.control_name is not null then controls.cash_flow_activity
        when payroll.account_name_key is not null then 'operating'
        else types.cash_flow_activity
    end as cash_flow_activity,
    case
        when accounts.ledger_account_type_id = 'BANK' or banks.bank_account_id is not null then 'internal_transfers'
        when controls.control_name is not null then controls.cash_flow_line
        when payroll.account_name_key is not null then 'payroll'
        else types.cash_flow_line
    end as cash_flow_line,
    accounts.is_deleted
from accounts
left join types
    on accounts.ledger_account_type_id = types.ledger_account_type_id
left join controls
    on accounts.control_name = controls.control_name
left join payroll
    on lower(accounts.name) = payroll.account_name_key
left join banks
    on accounts.business_id = banks.business_id
    and accounts.ledger_account_id = banks.ledger_account_id
