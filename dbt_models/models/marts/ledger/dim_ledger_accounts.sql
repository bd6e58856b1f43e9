-- One row per ledger account with its classification (statement, class, natural side, report section,
-- cash-flow line), control-account flags, its role (debtors / creditors control, tax, retained earnings,
-- bank: int_ledger_account_roles) and the bank account it belongs to, if any.
with accounts as (
    select * from {{ ref('int_ledger_accounts_classified') }}
)

select
    business_id,
    ledger_account_id,
    cast(nominal_code as bigint) as nominal_code,
    account_name,
    account_displayed_as,
    ledger_account_type_id,
    ledger_account_group_id,
    statement,
    account_class,
    normal_balance,
    report_section,
    cast(ordinal as integer) as ordinal,
    is_control_account,
    control_name,
    account_role,
    role_source,
    bank_account_id,
    is_bank_account,
    cash_flow_activity,
    cash_flow_line,
    is_deleted
from accounts
