-- One row per posted ledger entry: entries Sage flags deleted, and entries of deleted transactions
-- (voids, hard deletes), are left out. Amounts are in base currency; `net_amount` is debit − credit
-- (debits positive), `signed_amount` is positive on the account's natural side.
with entries as (
    select * from {{ ref('stg_sage__ledger_entries') }}
    where not is_deleted
),

transactions as (
    select * from {{ ref('stg_sage__transactions') }}
),

accounts as (
    select * from {{ ref('int_ledger_accounts_classified') }}
)

select
    entries.business_id,
    entries.ledger_entry_id,
    entries.transaction_id,
    transactions.transaction_type_id,
    transactions.reference as transaction_reference,
    entries.date as entry_date,
    entries.ledger_account_id,
    entries.contact_id,
    entries.tax_rate_id,
    entries.description,
    coalesce(entries.debit, 0) as debit,
    coalesce(entries.credit, 0) as credit,
    coalesce(entries.debit, 0) - coalesce(entries.credit, 0) as net_amount,
    case when accounts.normal_balance = 'credit' then -1 else 1 end
        * (coalesce(entries.debit, 0) - coalesce(entries.credit, 0)) as signed_amount
from entries
inner join transactions
    on entries.business_id = transactions.business_id
    and entries.transaction_id = transactions.transaction_id
left join accounts
    on entries.business_id = accounts.business_id
    and entries.ledger_account_id = accounts.ledger_account_id
where not transactions.is_deleted
