-- One row per bank account (current, savings, cash in hand, credit card, ...) that Sage has not deleted,
-- with the ledger account its money is posted to and the balance Sage reports for it. Sage's balance is
-- kept as `sage_balance` so the cash marts can be reconciled against it (assert_cash_position_matches_sage_balance).
with

bank_accounts as (
    select * from {{ ref('stg_sage__bank_accounts') }}
    where not is_deleted
),

financial_settings as (
    select
        business_id,
        base_currency_id
    from {{ ref('stg_sage__financial_settings') }}
)

select
    bank_accounts.business_id,
    bank_accounts.bank_account_id,
    coalesce(bank_accounts.bank_account_details_account_name, bank_accounts.displayed_as) as bank_account_name,
    bank_accounts.displayed_as,
    bank_accounts.bank_account_type_id,
    bank_accounts.bank_account_type_displayed_as as bank_account_type_name,
    bank_accounts.currency_id,
    -- Ledger entries are in base currency; a foreign-currency bank's own balance is not (see R9).
    coalesce(bank_accounts.currency_id = financial_settings.base_currency_id, true) as is_base_currency,
    bank_accounts.ledger_account_id,
    cast(bank_accounts.nominal_code as bigint) as nominal_code,
    cast(bank_accounts.balance as decimal(38, 9)) as sage_balance,
    coalesce(bank_accounts.is_active, true) as is_active
from bank_accounts
left join financial_settings
    on bank_accounts.business_id = financial_settings.business_id
