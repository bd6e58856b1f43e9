-- Every posted bank entry up to as_of_date() is in fct_cash_transactions, and its pieces sum EXACTLY (no
-- tolerance) to the entry: the pro rata split loses and invents nothing, not even a cent of rounding.
-- Returns the bank entries whose pieces are missing or do not add up.
with

entries as (
    select * from {{ ref('int_ledger_entries_signed') }}
    where entry_date <= {{ as_of_date() }}
        and net_amount <> 0
),

bank_accounts as (
    select * from {{ ref('dim_bank_accounts') }}
),

bank_entries as (
    select
        entries.business_id,
        entries.ledger_entry_id,
        entries.transaction_id,
        entries.entry_date,
        entries.net_amount
    from entries
    inner join bank_accounts
        on entries.business_id = bank_accounts.business_id
        and entries.ledger_account_id = bank_accounts.ledger_account_id
),

allocated as (
    select
        business_id,
        ledger_entry_id,
        max(entry_date) as entry_date,
        sum(cash_amount) as allocated_amount,
        count(*) as pieces
    from {{ ref('fct_cash_transactions') }}
    group by business_id, ledger_entry_id
)

select
    coalesce(bank_entries.business_id, allocated.business_id) as business_id,
    coalesce(bank_entries.entry_date, allocated.entry_date) as as_of_date,
    coalesce(bank_entries.net_amount, 0) - coalesce(allocated.allocated_amount, 0) as difference,
    coalesce(bank_entries.ledger_entry_id, allocated.ledger_entry_id) as ledger_entry_id,
    bank_entries.transaction_id,
    bank_entries.net_amount,
    allocated.allocated_amount,
    allocated.pieces
from bank_entries
full outer join allocated
    on bank_entries.business_id = allocated.business_id
    and bank_entries.ledger_entry_id = allocated.ledger_entry_id
where bank_entries.ledger_entry_id is null
    or allocated.ledger_entry_id is null
    or bank_entries.net_amount <> allocated.allocated_amount
