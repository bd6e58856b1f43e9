-- Every business has an account in each role the marts cannot do without (sage_account_role_types,
-- is_required: debtors and creditors control) when its books need one: the receivables reconcile to
-- those accounts and the cash flow puts customer receipts and supplier payments on their lines through
-- them. Returns one row per business and missing role, `message` saying in one sentence which row of
-- seeds/sage_account_roles.csv fixes it. An error; the marts are still built.
select
    business_id,
    account_role,
    needed_by,
    message
from {{ ref('int_ledger_account_role_checks') }}
where is_missing
    and is_required
