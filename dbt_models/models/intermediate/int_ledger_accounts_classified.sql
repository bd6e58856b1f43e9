-- One row per ledger account, classified through the type seed (statement, class, natural side,
-- report section), with its role (int_ledger_account_roles: debtors / creditors control, tax, retained
-- earnings, bank) and the cash-flow line a bank movement against it falls on: bank accounts are
-- internal transfers, then the role's line (sage_account_role_types: customers, suppliers, tax), then a
-- line seeds/sage_control_accounts.csv gives the account's control_name, then payroll accounts, then the
-- account type's default.
with accounts as (
    select * from {{ ref('stg_sage__ledger_accounts') }}
),

types as (
    select * from {{ ref('sage_ledger_account_types') }}
),

roles as (
    select * from {{ ref('int_ledger_account_roles') }}
),

role_types as (
    select * from {{ ref('sage_account_role_types') }}
),

controls as (
    select * from {{ ref('sage_control_accounts') }}
    where cash_flow_line is not null
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
    roles.account_role,
    roles.role_source,
    banks.bank_account_id,
    banks.bank_account_id is not null as is_bank_account,
    case
        when accounts.ledger_account_type_id = 'BANK' or banks.bank_account_id is not null then 'internal_transfer'
        when role_types.cash_flow_line is not null then role_types.cash_flow_activity
        when controls.control_name is not null then controls.cash_flow_activity
        when payroll.account_name_key is not null then 'operating'
        else types.cash_flow_activity
    end as cash_flow_activity,
    case
        when accounts.ledger_account_type_id = 'BANK' or banks.bank_account_id is not null then 'internal_transfers'
        when role_types.cash_flow_line is not null then role_types.cash_flow_line
        when controls.control_name is not null then controls.cash_flow_line
        when payroll.account_name_key is not null then 'payroll'
        else types.cash_flow_line
    end as cash_flow_line,
    accounts.is_deleted
from accounts
left join types
    on accounts.ledger_account_type_id = types.ledger_account_type_id
left join roles
    on accounts.business_id = roles.business_id
    and accounts.ledger_account_id = roles.ledger_account_id
left join role_types
    on roles.account_role = role_types.account_role
left join controls
    on upper(accounts.control_name) = upper(controls.control_name)
left join payroll
    on lower(accounts.name) = payroll.account_name_key
left join banks
    on accounts.business_id = banks.business_id
    and accounts.ledger_account_id = banks.ledger_account_id
