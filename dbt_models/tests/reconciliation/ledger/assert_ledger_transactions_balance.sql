-- R1. Double entry: every posted transaction's debits equal its credits, and so do each business's
-- total debits and credits. Returns the transactions (and businesses) that do not balance.
{%- set tolerance = var('reconciliation_tolerance') %}

with general_ledger as (
    select * from {{ ref('fct_general_ledger') }}
),

by_transaction as (
    select
        business_id,
        'transaction' as level,
        transaction_id,
        min(entry_date) as entry_date,
        sum(debit) as total_debit,
        sum(credit) as total_credit
    from general_ledger
    group by business_id, transaction_id
),

by_business as (
    select
        business_id,
        'business' as level,
        cast(null as varchar) as transaction_id,
        max(entry_date) as entry_date,
        sum(debit) as total_debit,
        sum(credit) as total_credit
    from general_ledger
    group by business_id
),

checks as (
    select * from by_transaction
    union all
    select * from by_business
)

select
    business_id,
    entry_date as as_of_date,
    total_debit - total_credit as difference,
    level,
    transaction_id,
    total_debit,
    total_credit
from checks
where abs(total_debit - total_credit) > {{ tolerance }}
