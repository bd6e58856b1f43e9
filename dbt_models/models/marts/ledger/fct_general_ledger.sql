-- One row per posted ledger entry (entry and its transaction not deleted), in base currency, with the
-- account's classification and the fiscal year from financial_settings.year_end_date.
-- net_amount = debit − credit (debits positive); signed_amount is positive on the account's natural side.
--
-- Incremental by month (macros/incremental_periods.sql says why and how): a build rebuilds only the
-- (business, period_month) whose entries' fingerprint changed (new, edited, re-dated, voided or deleted
-- entries: every column of int_ledger_entries_signed is hashed), and every month of a business whose
-- accounts' classification or fiscal year end changed (the model joins both to every row).
-- `dbt build --full-refresh` rebuilds it whole.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_changed_rows(changed_periods_filter('target.business_id', 'target.period_month')) }}",
    post_hook="{{ keep_fingerprints() }}",
) }}
{%- set fingerprint_sql %}
    with entries as (
        select * from {{ ref('int_ledger_entries_signed') }}
    ),

    dimension_rows as (
        select business_id, {{ row_hash('accounts') }} as row_hash
        from {{ ref('int_ledger_accounts_classified') }} as accounts
        union all
        select business_id, {{ row_hash('settings') }}
        from (select business_id, year_end_date from {{ ref('stg_sage__financial_settings') }}) as settings
    )

    {{ period_fingerprints('entries', 'entry_date', 'dimension_rows') }}
{%- endset %}
{%- do incremental_fingerprints(fingerprint_sql) %}
with entries as (
    select * from {{ ref('int_ledger_entries_signed') }} as entries
    {%- if is_incremental() %}
    where {{ changed_periods_filter('entries.business_id', 'entries.entry_date') }}
    {%- endif %}
),

accounts as (
    select * from {{ ref('int_ledger_accounts_classified') }}
),

settings as (
    select * from {{ ref('stg_sage__financial_settings') }}
),

entries_dated as (
    select
        entries.*,
        -- computed from the entry's own date rather than joined to the calendar, so an entry dated
        -- beyond the calendar still gets its fiscal year
        {{ fiscal_year_end('entries.entry_date', 'settings.year_end_date') }} as fiscal_year_end
    from entries
    left join settings
        on entries.business_id = settings.business_id
)

select
    entries_dated.business_id,
    entries_dated.ledger_entry_id,
    entries_dated.transaction_id,
    entries_dated.transaction_type_id,
    entries_dated.transaction_reference,
    entries_dated.entry_date,
    {{ month_start('entries_dated.entry_date') }} as period_month,
    {{ month_end('entries_dated.entry_date') }} as period_month_end,
    cast(extract(year from entries_dated.fiscal_year_end) as integer) as fiscal_year,
    entries_dated.ledger_account_id,
    cast(accounts.nominal_code as bigint) as nominal_code,
    accounts.account_name,
    accounts.ledger_account_type_id,
    accounts.statement,
    accounts.account_class,
    accounts.normal_balance,
    accounts.report_section,
    accounts.is_control_account,
    accounts.control_name,
    accounts.account_role,
    accounts.bank_account_id,
    coalesce(accounts.is_bank_account, false) as is_bank_account,
    entries_dated.contact_id,
    entries_dated.tax_rate_id,
    entries_dated.description,
    cast(entries_dated.debit as decimal(38, 9)) as debit,
    cast(entries_dated.credit as decimal(38, 9)) as credit,
    cast(entries_dated.net_amount as decimal(38, 9)) as net_amount,
    cast(entries_dated.signed_amount as decimal(38, 9)) as signed_amount
from entries_dated
left join accounts
    on entries_dated.business_id = accounts.business_id
    and entries_dated.ledger_account_id = accounts.ledger_account_id
