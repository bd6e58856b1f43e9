-- One row per bank ledger entry × counterparty leg: every movement of cash in or out of a bank account,
-- split over what it paid for or came from and classified for the direct-method cash-flow statement
-- (see int_cash_entries_classified for the allocation). Entries dated after as_of_date() are left out so
-- that the cash marts all describe the same day.
-- A view: int_cash_entries_classified is an incremental table already, and a copy of its 1.5 M rows (at
-- 1 M invoices) would be written again in every build, incremental ones included.
{{ config(materialized='view') }}
with

cash_entries as (
    select * from {{ ref('int_cash_entries_classified') }}
    where entry_date <= {{ as_of_date() }}
)

select
    business_id,
    ledger_entry_id,
    counterparty_ledger_entry_id,
    bank_account_id,
    entry_date,
    {{ month_end('entry_date') }} as month_end,
    cast(cash_amount as decimal(38, 9)) as cash_amount,
    transaction_id,
    transaction_type_id,
    source_object,
    contact_id,
    counterparty_ledger_account_id,
    counterparty_bank_account_id,
    cash_flow_activity,
    cash_flow_line
from cash_entries
