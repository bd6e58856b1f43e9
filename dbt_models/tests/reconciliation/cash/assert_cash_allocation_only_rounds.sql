-- The pro rata split of each bank entry is right before rounding: the remainder that int_cash_entries_classified
-- gives to the largest piece (so the pieces sum exactly to the bank entry) is at most half a minor unit per
-- piece. Anything larger would be a split that loses or invents money, silently patched by the remainder.
-- Returns the bank entries whose remainder is more than rounding.
{%- set decimals = var('cash_allocation_decimals', 2) %}

with

cash_entries as (
    select * from {{ ref('int_cash_entries_classified') }}
    where rounding_remainder <> 0
)

select
    business_id,
    entry_date as as_of_date,
    rounding_remainder as difference,
    ledger_entry_id,
    transaction_id,
    bank_entry_amount,
    rounding_remainder,
    piece_count
from cash_entries
where abs(rounding_remainder) > piece_count * 0.5 * power(10, -{{ decimals }})
