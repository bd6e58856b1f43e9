-- Warn: a business whose books need an account in a role the marts can do without (tax, retained
-- earnings, bank) and none was found: tax payments then fall on the account type's cash-flow line and
-- year-end closing journals go unwatched. Returns one row per business and missing role, with the
-- sentence that says how to pin it (seeds/sage_account_roles.csv).
{{ config(severity='warn') }}

select
    business_id,
    account_role,
    needed_by,
    message
from {{ ref('int_ledger_account_role_checks') }}
where is_missing
    and not is_required
