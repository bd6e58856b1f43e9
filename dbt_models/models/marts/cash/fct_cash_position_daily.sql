-- One row per bank account and day, from the account's first entry (or the business's accounts_start_date,
-- whichever is earlier) up to as_of_date(): the money in the bank at the start and end of the day and what
-- came in and went out, in base currency. The balance is the running sum of the net_amount of the bank's
-- ledger entries: daily totals first, then one window sum over a dense day spine (no per-day subqueries).
with

bank_accounts as (
    select
        business_id,
        bank_account_id,
        ledger_account_id,
        currency_id
    from {{ ref('dim_bank_accounts') }}
),

financial_settings as (
    select
        business_id,
        accounts_start_date
    from {{ ref('stg_sage__financial_settings') }}
),

entries as (
    select
        business_id,
        ledger_account_id,
        entry_date,
        net_amount
    from {{ ref('int_ledger_entries_signed') }}
    where entry_date <= {{ as_of_date() }}
),

bank_days as (
    select
        bank_accounts.business_id,
        bank_accounts.bank_account_id,
        entries.entry_date,
        sum(case when entries.net_amount > 0 then entries.net_amount else 0 end) as inflow,
        sum(case when entries.net_amount < 0 then -entries.net_amount else 0 end) as outflow,
        sum(entries.net_amount) as net_change
    from entries
    inner join bank_accounts
        on entries.business_id = bank_accounts.business_id
        and entries.ledger_account_id = bank_accounts.ledger_account_id
    group by bank_accounts.business_id, bank_accounts.bank_account_id, entries.entry_date
),

first_entries as (
    select
        business_id,
        bank_account_id,
        min(entry_date) as first_entry_date
    from bank_days
    group by business_id, bank_account_id
),

bank_ranges as (
    select
        bank_accounts.business_id,
        bank_accounts.bank_account_id,
        bank_accounts.currency_id,
        coalesce(
            least(first_entries.first_entry_date, financial_settings.accounts_start_date),
            first_entries.first_entry_date,
            financial_settings.accounts_start_date
        ) as start_date
    from bank_accounts
    left join first_entries
        on bank_accounts.business_id = first_entries.business_id
        and bank_accounts.bank_account_id = first_entries.bank_account_id
    left join financial_settings
        on bank_accounts.business_id = financial_settings.business_id
),

days as (
    select date_day
    from {{ date_series('(select min(start_date) from bank_ranges)', as_of_date(), 'day') }} as series
),

spine as (
    select
        bank_ranges.business_id,
        bank_ranges.bank_account_id,
        bank_ranges.currency_id,
        days.date_day
    from bank_ranges
    inner join days
        on days.date_day >= bank_ranges.start_date
),

daily as (
    select
        spine.business_id,
        spine.bank_account_id,
        spine.date_day,
        spine.currency_id,
        coalesce(bank_days.inflow, 0) as inflow,
        coalesce(bank_days.outflow, 0) as outflow,
        coalesce(bank_days.net_change, 0) as net_change
    from spine
    left join bank_days
        on spine.business_id = bank_days.business_id
        and spine.bank_account_id = bank_days.bank_account_id
        and spine.date_day = bank_days.entry_date
),

balances as (
    select
        daily.*,
        sum(net_change) over (
            partition by business_id, bank_account_id
            order by date_day
            rows between unbounded preceding and current row
        ) as closing_balance
    from daily
)

select
    business_id,
    bank_account_id,
    date_day,
    currency_id,
    cast(closing_balance - net_change as decimal(38, 9)) as opening_balance,
    cast(inflow as decimal(38, 9)) as inflow,
    cast(outflow as decimal(38, 9)) as outflow,
    cast(net_change as decimal(38, 9)) as net_change,
    cast(closing_balance as decimal(38, 9)) as closing_balance
from balances
