-- Every row of seeds/sage_account_roles.csv names a ledger account of its business (by ledger_account_id,
-- or by nominal_code when ledger_account_id is empty): a pin that matches nothing would leave the role
-- to the books without a word. Returns the rows that match no account, with a sentence saying so.
with

pins as (
    select * from {{ ref('sage_account_roles') }}
),

accounts as (
    select business_id, ledger_account_id, cast(nominal_code as varchar) as nominal_code
    from {{ ref('stg_sage__ledger_accounts') }}
),

matched as (
    select
        pins.business_id,
        pins.ledger_account_id,
        pins.nominal_code,
        pins.account_role,
        count(accounts.ledger_account_id) as accounts_matched
    from pins
    left join accounts
        on pins.business_id = accounts.business_id
        and (
            pins.ledger_account_id = accounts.ledger_account_id
            or (pins.ledger_account_id is null and pins.nominal_code = accounts.nominal_code)
        )
    group by pins.business_id, pins.ledger_account_id, pins.nominal_code, pins.account_role
)

select
    business_id,
    account_role,
    'seeds/sage_account_roles.csv: business ' || business_id || ' has no ledger account '
        || coalesce(ledger_account_id, 'with nominal code ' || nominal_code, '(none given)')
        || ' to pin ' || account_role || ' to: correct or remove the row' as message
from matched
where accounts_matched = 0
