-- One row per business and calendar month, from the month of the business's accounts_start_date to the
-- month of as_of_date(): the month's credit sales and collections in base currency.
-- Credit sales are gross (incl. tax) so they are on the same footing as the receivables balance DSO divides.
-- The month of as_of_date() is partial: it runs to as_of_date() only, and `days_in_period` counts the days
-- elapsed, so a DSO on it divides the sales of those days by those days. The first month likewise starts on
-- accounts_start_date. This model is the input the countback DSO is unit-tested on.
-- A table, not a view: the monthly KPIs, the AR balances, a reconciliation and five data tests read it
-- (computed once from a million invoices, not per reader).
{{ config(materialized='table') }}
with

financial_settings as (
    select
        business_id,
        accounts_start_date
    from {{ ref('stg_sage__financial_settings') }}
),

sales_invoices as (
    select
        business_id,
        date as document_date,
        base_currency_total_amount as amount_base
    from {{ ref('stg_sage__sales_invoices') }}
    where is_posted
),

sales_credit_notes as (
    select
        business_id,
        date as document_date,
        base_currency_total_amount as amount_base
    from {{ ref('stg_sage__sales_credit_notes') }}
    where is_posted
),

sales_quick_entries as (
    select
        business_id,
        date as document_date,
        quick_entry_type_id,
        base_currency_total_amount as amount_base
    from {{ ref('stg_sage__sales_quick_entries') }}
    where is_posted
),

customer_receipts as (
    -- Money received from customers, whether allocated to invoices or left on account.
    select
        business_id,
        date as payment_date,
        base_currency_total_amount as amount_base
    from {{ ref('stg_sage__contact_payments') }}
    where transaction_type_id = 'CUSTOMER_RECEIPT'
        and not is_deleted
),

month_starts as (
    select date_day as month_start
    from {{ date_series(
        month_start("(select min(accounts_start_date) from " ~ ref('stg_sage__financial_settings') ~ ")"),
        as_of_date(),
        'month'
    ) }} as series
),

months as (
    select
        financial_settings.business_id,
        month_starts.month_start,
        {{ month_end('month_starts.month_start') }} as month_end,
        greatest(month_starts.month_start, financial_settings.accounts_start_date) as period_start_date,
        least({{ month_end('month_starts.month_start') }}, {{ as_of_date() }}) as period_end_date
    from financial_settings
    inner join month_starts
        on month_starts.month_start >= {{ month_start('financial_settings.accounts_start_date') }}
),

-- Signed credit sales documents: invoices add, credit notes subtract.
credit_sales_documents as (
    select business_id, document_date, amount_base as invoices_base, 0 as credit_notes_base
    from sales_invoices
    union all
    select business_id, document_date, 0, amount_base
    from sales_credit_notes
    union all
    select
        business_id,
        document_date,
        case when quick_entry_type_id = 'CREDIT_NOTE' then 0 else amount_base end,
        case when quick_entry_type_id = 'CREDIT_NOTE' then amount_base else 0 end
    from sales_quick_entries
),

credit_sales_by_month as (
    select
        months.business_id,
        months.month_end,
        sum(credit_sales_documents.invoices_base) as invoices_base,
        sum(credit_sales_documents.credit_notes_base) as credit_notes_base
    from months
    inner join credit_sales_documents
        on months.business_id = credit_sales_documents.business_id
        and credit_sales_documents.document_date between months.month_start and months.period_end_date
    group by months.business_id, months.month_end
),

collections_by_month as (
    select
        months.business_id,
        months.month_end,
        sum(customer_receipts.amount_base) as collections
    from months
    inner join customer_receipts
        on months.business_id = customer_receipts.business_id
        and customer_receipts.payment_date between months.month_start and months.period_end_date
    group by months.business_id, months.month_end
),

final as (
    select
        months.business_id,
        months.month_start,
        months.month_end,
        months.period_start_date,
        months.period_end_date,
        cast({{ dbt.datediff('months.period_start_date', 'months.period_end_date', 'day') }} + 1 as integer) as days_in_period,
        months.period_end_date < months.month_end as is_partial_month,
        cast(coalesce(credit_sales_by_month.invoices_base, 0) as decimal(38, 9)) as invoices_base,
        cast(coalesce(credit_sales_by_month.credit_notes_base, 0) as decimal(38, 9)) as credit_notes_base,
        cast(
            coalesce(credit_sales_by_month.invoices_base, 0) - coalesce(credit_sales_by_month.credit_notes_base, 0)
            as decimal(38, 9)
        ) as credit_sales,
        cast(coalesce(collections_by_month.collections, 0) as decimal(38, 9)) as collections
    from months
    left join credit_sales_by_month
        on months.business_id = credit_sales_by_month.business_id
        and months.month_end = credit_sales_by_month.month_end
    left join collections_by_month
        on months.business_id = collections_by_month.business_id
        and months.month_end = collections_by_month.month_end
)

select * from final
