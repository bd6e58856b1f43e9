-- Fan-out / drop guard: the general ledger has exactly one row per posted ledger entry, counted straight
-- from staging (entry not deleted, its transaction exists and is not deleted), per business. A join that
-- duplicates or loses entries shows up here. Returns the businesses whose counts differ. Counts, not
-- distinct counts: that no key repeats is the primary-key test of stg_sage__ledger_entries and the unique
-- test of fct_general_ledger (two distinct counts of 8 M keys here cost as much as the rest of the test).
with posted_entries as (
    select entries.business_id, entries.ledger_entry_id
    from {{ ref('stg_sage__ledger_entries') }} as entries
    inner join {{ ref('stg_sage__transactions') }} as transactions
        on entries.business_id = transactions.business_id
        and entries.transaction_id = transactions.transaction_id
    where not entries.is_deleted
        and not transactions.is_deleted
),

posted_counts as (
    select business_id, count(*) as posted_entries
    from posted_entries
    group by business_id
),

ledger_counts as (
    select business_id, count(*) as ledger_rows
    from {{ ref('fct_general_ledger') }}
    group by business_id
)

select
    coalesce(posted_counts.business_id, ledger_counts.business_id) as business_id,
    {{ as_of_date() }} as as_of_date,
    -- in entries, not money
    coalesce(ledger_counts.ledger_rows, 0) - coalesce(posted_counts.posted_entries, 0) as difference,
    posted_counts.posted_entries,
    ledger_counts.ledger_rows
from posted_counts
full outer join ledger_counts
    on posted_counts.business_id = ledger_counts.business_id
where coalesce(posted_counts.posted_entries, -1) <> coalesce(ledger_counts.ledger_rows, -1)
