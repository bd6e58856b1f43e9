-- One row per bank ledger entry × counterparty leg of its transaction: the direct-method view of cash.
--
-- Every posted entry on a bank account's ledger account is cash in (+) or out (−). Its transaction says
-- where the money came from or went to. The cash is split over the other legs in proportion to their
-- net_amount, and each piece takes the cash-flow line of its counterparty account
-- (int_ledger_accounts_classified: customers and suppliers via the control accounts, tax, payroll, the
-- account type's default). Example: a payment of 120 for 60 rent + 40 stationery + 20 VAT gives −60 rent,
-- −40 stationery, −20 tax. Legs on the same side as the cash count negatively, so a receipt of 95 for a
-- 100 invoice with 5 bank charges deducted gives +100 receipts_from_customers and −5 other payments; a
-- foreign receipt that clears 105 of debtors and books a 5 exchange loss gives +105 and −5 the same way.
--
-- Transactions with several bank legs (bank transfers, deposits, card payoffs, journals between banks):
-- money that leaves one bank and arrives in another is internal. With inflows I and outflows O on bank
-- legs, min(I, O) moved between banks; each inflow leg is matched to the outflow legs (and vice versa)
-- pro rata, which makes the two sides equal and opposite, so internal transfers net to zero. Only the
-- rest, |I − O|, is external and is split over the non-bank legs as above.
--
-- Pieces are rounded to the currency's minor unit (var cash_allocation_decimals, default 2) and the
-- rounding remainder goes to the largest piece, so the pieces of a bank entry sum exactly to it.
--
-- Materialized as a table (intermediate models are views by default): the split is the costliest step of the
-- cash marts, and as a view every test and fct_cash_transactions would compute it again.
--
-- Incremental (macros/incremental_periods.sql says why and how). A bank entry's pieces depend on every
-- leg of its transaction, so the unit rebuilt is the transaction: the entries' fingerprints per
-- (business, month) say which months changed, and every transaction with a leg in such a month now, or a
-- row here in such a month from the last build, is deleted and split again (a re-dated transaction: both
-- its months changed; a void or delete: its month changed and its old rows are found here). The
-- dimensions (accounts' classification, which decides bank legs and cash-flow lines, and the rounding
-- var) rebuild the whole business when they change. One change is not seen: a leg removed from a month
-- in which its transaction keeps no other leg and has no bank leg, while the bank legs are in another
-- month; Sage dates every leg of a transaction with the transaction's date, so it cannot happen there.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_changed_rows('exists (select 1 from ' ~ state_relation('changed_transactions') ~ ' as changed where changed.business_id = target.business_id and changed.transaction_id = target.transaction_id)') }}",
    post_hook="{{ keep_fingerprints() }}",
) }}
{%- set decimals = var('cash_allocation_decimals') %}
{%- set fingerprint_sql %}
    with entries as (
        select * from {{ ref('int_ledger_entries_signed') }}
    ),

    accounts as (
        select * from {{ ref('int_ledger_accounts_classified') }}
    ),

    rounding as (
        select distinct business_id, {{ decimals }} as cash_allocation_decimals from accounts
    ),

    dimension_rows as (
        select business_id, {{ row_hash('accounts') }} as row_hash from accounts
        union all
        select business_id, {{ row_hash('rounding') }} from rounding
    )

    {{ period_fingerprints('entries', 'entry_date', 'dimension_rows') }}
{%- endset %}
{%- do incremental_fingerprints(fingerprint_sql) %}
{%- if execute and is_incremental() and model.resource_type != 'unit_test' %}
    {%- set changed_transactions = state_relation('changed_transactions') %}
    {%- do adapter.drop_relation(changed_transactions) %}
    {%- set changed_transactions_sql %}
        select entries.business_id, entries.transaction_id
        from {{ ref('int_ledger_entries_signed') }} as entries
        where {{ changed_periods_filter('entries.business_id', 'entries.entry_date') }}
        union
        select built.business_id, built.transaction_id
        from {{ this }} as built
        where {{ changed_periods_filter('built.business_id', 'built.entry_date') }}
    {%- endset %}
    {%- do run_query('create table ' ~ changed_transactions ~ ' as ' ~ changed_transactions_sql) %}
{%- endif %}

with

-- In a full build `entries` and `legs` are not materialized: several CTEs below read the legs, so DuckDB
-- would otherwise hold all 8 M of them at 1 M invoices in memory and spill 4.5 GB to disk (10-13 s
-- alone); read from the view each time instead, the split takes 7.5-8.5 s and spills under 0.6 GB. An
-- incremental build reads only the changed transactions' legs: holding those is cheaper than reading the
-- view again (4.3-4.7 s against 6.3-6.6 s for the whole model after a day at 1 M).
{%- set streamed = '' if is_incremental() else 'not materialized' %}
entries as {{ streamed }} (
    select * from {{ ref('int_ledger_entries_signed') }} as entries
    {%- if is_incremental() %}
    where exists (
        select 1 from {{ state_relation('changed_transactions') }} as changed
        where changed.business_id = entries.business_id
            and changed.transaction_id = entries.transaction_id
    )
    {%- endif %}
),

accounts as (
    select * from {{ ref('int_ledger_accounts_classified') }}
),

legs as {{ streamed }} (
    -- Zero-amount legs move no money and take no share.
    select
        entries.business_id,
        entries.ledger_entry_id,
        entries.transaction_id,
        entries.transaction_type_id,
        entries.entry_date,
        entries.ledger_account_id,
        entries.contact_id,
        entries.net_amount,
        accounts.bank_account_id,
        accounts.cash_flow_activity,
        accounts.cash_flow_line
    from entries
    left join accounts
        on entries.business_id = accounts.business_id
        and entries.ledger_account_id = accounts.ledger_account_id
    where entries.net_amount <> 0
),

bank_legs as (
    select * from legs
    where bank_account_id is not null
),

cash_transactions as (
    -- Per transaction that touches a bank: money into banks, out of banks, and the part moved between banks.
    select
        business_id,
        transaction_id,
        sum(case when net_amount > 0 then net_amount else 0 end) as bank_inflow,
        sum(case when net_amount < 0 then -net_amount else 0 end) as bank_outflow,
        least(
            sum(case when net_amount > 0 then net_amount else 0 end),
            sum(case when net_amount < 0 then -net_amount else 0 end)
        ) as moved_between_banks
    from bank_legs
    group by business_id, transaction_id
),

non_bank_legs as (
    select legs.*
    from legs
    inner join cash_transactions
        on legs.business_id = cash_transactions.business_id
        and legs.transaction_id = cash_transactions.transaction_id
    where legs.bank_account_id is null
),

non_bank_totals as (
    select
        business_id,
        transaction_id,
        sum(net_amount) as non_bank_net
    from non_bank_legs
    group by business_id, transaction_id
),

bank_legs_sized as (
    -- Each bank leg with the totals of its own side (inflows or outflows) and the other side, and what its
    -- transaction moved between banks; the source object is decided here, once per bank leg.
    select
        bank_legs.business_id,
        bank_legs.ledger_entry_id,
        bank_legs.transaction_id,
        bank_legs.transaction_type_id,
        case
            when bank_legs.transaction_type_id in ('CUSTOMER_RECEIPT', 'CUSTOMER_REFUND', 'VENDOR_PAYMENT', 'VENDOR_REFUND')
                then 'contact_payment'
            when bank_legs.transaction_type_id in ('OTHER_PAYMENT', 'OTHER_RECEIPT') then 'other_payment'
            when bank_legs.transaction_type_id = 'BANK_TRANSFER' then 'bank_transfer'
            when bank_legs.transaction_type_id = 'BANK_DEPOSIT' then 'bank_deposit'
            when bank_legs.transaction_type_id = 'JOURNAL' then 'journal'
            else 'other'
        end as source_object,
        bank_legs.entry_date,
        bank_legs.ledger_account_id,
        bank_legs.bank_account_id,
        bank_legs.contact_id,
        bank_legs.cash_flow_activity,
        bank_legs.cash_flow_line,
        bank_legs.net_amount,
        case when bank_legs.net_amount > 0 then cash_transactions.bank_inflow else cash_transactions.bank_outflow end
            as own_side_total,
        case when bank_legs.net_amount > 0 then cash_transactions.bank_outflow else cash_transactions.bank_inflow end
            as other_side_total,
        cash_transactions.moved_between_banks,
        non_bank_totals.non_bank_net
    from bank_legs
    inner join cash_transactions
        on bank_legs.business_id = cash_transactions.business_id
        and bank_legs.transaction_id = cash_transactions.transaction_id
    left join non_bank_totals
        on bank_legs.business_id = non_bank_totals.business_id
        and bank_legs.transaction_id = non_bank_totals.transaction_id
),

{%- set bank_leg_columns %}
        bank_legs_sized.business_id,
        bank_legs_sized.ledger_entry_id,
        bank_legs_sized.transaction_id,
        bank_legs_sized.transaction_type_id,
        bank_legs_sized.source_object,
        bank_legs_sized.entry_date,
        bank_legs_sized.ledger_account_id,
        bank_legs_sized.bank_account_id,
        bank_legs_sized.contact_id as bank_contact_id,
        bank_legs_sized.net_amount as bank_entry_amount,
{%- endset %}

internal_pieces as (
    -- Bank leg against each bank leg on the other side: cash × |other| / other side × moved / own side.
    -- (Ratios first: a product of three DECIMAL(38,9) overflows DuckDB's 38 digits.)
    select
        {{ bank_leg_columns }}
        counterparty.ledger_entry_id as counterparty_ledger_entry_id,
        counterparty.ledger_account_id as counterparty_ledger_account_id,
        counterparty.bank_account_id as counterparty_bank_account_id,
        counterparty.contact_id as counterparty_contact_id,
        counterparty.cash_flow_activity,
        counterparty.cash_flow_line,
        bank_legs_sized.net_amount
            * (abs(counterparty.net_amount) / bank_legs_sized.other_side_total)
            * (bank_legs_sized.moved_between_banks / bank_legs_sized.own_side_total) as exact_amount
    from bank_legs_sized
    inner join bank_legs_sized as counterparty
        on bank_legs_sized.business_id = counterparty.business_id
        and bank_legs_sized.transaction_id = counterparty.transaction_id
        and (bank_legs_sized.net_amount > 0) <> (counterparty.net_amount > 0)
    -- only transactions that move money between banks (most have a single bank leg)
    where bank_legs_sized.moved_between_banks > 0
        and counterparty.moved_between_banks > 0
),

external_pieces as (
    -- The part of a bank leg not matched by other banks, split over the non-bank legs by net_amount.
    select
        {{ bank_leg_columns }}
        counterparty.ledger_entry_id as counterparty_ledger_entry_id,
        counterparty.ledger_account_id as counterparty_ledger_account_id,
        cast(null as varchar) as counterparty_bank_account_id,
        counterparty.contact_id as counterparty_contact_id,
        counterparty.cash_flow_activity,
        counterparty.cash_flow_line,
        bank_legs_sized.net_amount
            * ((bank_legs_sized.own_side_total - bank_legs_sized.moved_between_banks) / bank_legs_sized.own_side_total)
            * (counterparty.net_amount / bank_legs_sized.non_bank_net) as exact_amount
    from bank_legs_sized
    inner join non_bank_legs as counterparty
        on bank_legs_sized.business_id = counterparty.business_id
        and bank_legs_sized.transaction_id = counterparty.transaction_id
    where bank_legs_sized.own_side_total > bank_legs_sized.moved_between_banks
        and bank_legs_sized.non_bank_net <> 0
),

unmatched_pieces as (
    -- Cash with nothing to split over: only possible when a transaction does not balance (R1 flags it).
    -- Kept, against the bank entry itself, so cash totals still tie to the bank.
    select
        {{ bank_leg_columns }}
        bank_legs_sized.ledger_entry_id as counterparty_ledger_entry_id,
        cast(null as varchar) as counterparty_ledger_account_id,
        cast(null as varchar) as counterparty_bank_account_id,
        cast(null as varchar) as counterparty_contact_id,
        'operating' as cash_flow_activity,
        case when bank_legs_sized.net_amount > 0 then 'other_operating_receipts' else 'other_operating_payments' end
            as cash_flow_line,
        bank_legs_sized.net_amount
            * ((bank_legs_sized.own_side_total - bank_legs_sized.moved_between_banks) / bank_legs_sized.own_side_total)
            as exact_amount
    from bank_legs_sized
    where bank_legs_sized.own_side_total > bank_legs_sized.moved_between_banks
        and coalesce(bank_legs_sized.non_bank_net, 0) = 0
),

pieces as (
    select * from internal_pieces
    union all
    select * from external_pieces
    union all
    select * from unmatched_pieces
),

pieces_rounded as (
    -- Division gives an approximate number; rounding to the minor unit and the remainder step below bring
    -- every amount back to exact decimals.
    select
        pieces.*,
        cast(round(cast(exact_amount as decimal(38, 9)), {{ decimals }}) as decimal(38, 9)) as rounded_amount
    from pieces
),

remainders as (
    select
        business_id,
        ledger_entry_id,
        max(bank_entry_amount) - sum(rounded_amount) as remainder,
        count(*) as piece_count
    from pieces_rounded
    group by business_id, ledger_entry_id
),

remainder_takers as (
    -- The largest piece of each bank entry whose rounded pieces miss it (ties: lowest counterparty id).
    -- Ranked only where there is a remainder, which keeps the window small.
    select
        business_id,
        ledger_entry_id,
        counterparty_ledger_entry_id,
        remainder
    from (
        select
            pieces_rounded.business_id,
            pieces_rounded.ledger_entry_id,
            pieces_rounded.counterparty_ledger_entry_id,
            remainders.remainder,
            row_number() over (
                partition by pieces_rounded.business_id, pieces_rounded.ledger_entry_id
                order by abs(pieces_rounded.exact_amount) desc, pieces_rounded.counterparty_ledger_entry_id
            ) as size_rank
        from pieces_rounded
        inner join remainders
            on pieces_rounded.business_id = remainders.business_id
            and pieces_rounded.ledger_entry_id = remainders.ledger_entry_id
        where remainders.remainder <> 0
    ) as ranked
    where size_rank = 1
),

final as (
    select
        pieces_rounded.business_id,
        pieces_rounded.ledger_entry_id,
        pieces_rounded.counterparty_ledger_entry_id,
        pieces_rounded.bank_account_id,
        pieces_rounded.ledger_account_id,
        pieces_rounded.entry_date,
        pieces_rounded.transaction_id,
        pieces_rounded.transaction_type_id,
        pieces_rounded.source_object,
        coalesce(pieces_rounded.counterparty_contact_id, pieces_rounded.bank_contact_id) as contact_id,
        pieces_rounded.counterparty_ledger_account_id,
        pieces_rounded.counterparty_bank_account_id,
        pieces_rounded.cash_flow_activity,
        pieces_rounded.cash_flow_line,
        cast(pieces_rounded.bank_entry_amount as decimal(38, 9)) as bank_entry_amount,
        cast(pieces_rounded.rounded_amount + coalesce(remainder_takers.remainder, 0) as decimal(38, 9)) as cash_amount,
        -- What the largest piece absorbed; only rounding (at most half a minor unit per piece) is legitimate,
        -- assert_cash_allocation_only_rounds checks it so the remainder step cannot hide a wrong split.
        cast(coalesce(remainder_takers.remainder, 0) as decimal(38, 9)) as rounding_remainder,
        remainders.piece_count
    from pieces_rounded
    inner join remainders
        on pieces_rounded.business_id = remainders.business_id
        and pieces_rounded.ledger_entry_id = remainders.ledger_entry_id
    left join remainder_takers
        on pieces_rounded.business_id = remainder_takers.business_id
        and pieces_rounded.ledger_entry_id = remainder_takers.ledger_entry_id
        and pieces_rounded.counterparty_ledger_entry_id = remainder_takers.counterparty_ledger_entry_id
)

select * from final
