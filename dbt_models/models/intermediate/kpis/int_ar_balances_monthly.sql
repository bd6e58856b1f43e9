-- One row per business and calendar month (the months of int_credit_sales_monthly): the receivables balance
-- at the month's period end (the month-end, or as_of_date() in the current month) from the AR open-items
-- snapshots. As in the aged debtors report (rpt_ar_aging), invoices are split into not yet due, overdue and
-- 90+ days overdue by their aging bucket, and credit notes and payments on account, whatever their age, are
-- kept apart as unallocated credits (negative): current + overdue + unallocated credits = closing.
-- A table, not a view: the monthly KPIs and four data tests read it (computed once from the AR open-items
-- snapshots, not per reader).
{{ config(materialized='table') }}
with

months as (
    select
        business_id,
        month_end,
        period_end_date
    from {{ ref('int_credit_sales_monthly') }}
),

ar_open_items as (
    select
        business_id,
        as_of_date,
        aging_bucket,
        document_type in ('credit_note', 'quick_entry_credit_note', 'payment_on_account') as is_credit,
        outstanding_base
    from {{ ref('fct_ar_open_items') }}
),

balances as (
    select
        months.business_id,
        months.month_end,
        sum(ar_open_items.outstanding_base) as ar_closing,
        sum(case when not ar_open_items.is_credit and ar_open_items.aging_bucket = 'current'
            then ar_open_items.outstanding_base end) as ar_current_closing,
        sum(case when not ar_open_items.is_credit and ar_open_items.aging_bucket <> 'current'
            then ar_open_items.outstanding_base end) as ar_overdue_closing,
        sum(case when not ar_open_items.is_credit and ar_open_items.aging_bucket = '90+'
            then ar_open_items.outstanding_base end) as ar_90_plus_closing,
        sum(case when ar_open_items.is_credit then ar_open_items.outstanding_base end)
            as ar_unallocated_credits_closing,
        count(ar_open_items.as_of_date) as open_items
    from months
    inner join ar_open_items
        on months.business_id = ar_open_items.business_id
        and months.period_end_date = ar_open_items.as_of_date
    group by months.business_id, months.month_end
),

-- fct_ar_open_items drops items with nothing outstanding, so a month without open items has no rows there:
-- its balance is zero.
final as (
    select
        months.business_id,
        months.month_end,
        months.period_end_date,
        cast(coalesce(balances.ar_closing, 0) as decimal(38, 9)) as ar_closing,
        cast(coalesce(balances.ar_current_closing, 0) as decimal(38, 9)) as ar_current_closing,
        cast(coalesce(balances.ar_overdue_closing, 0) as decimal(38, 9)) as ar_overdue_closing,
        cast(coalesce(balances.ar_90_plus_closing, 0) as decimal(38, 9)) as ar_90_plus_closing,
        cast(coalesce(balances.ar_unallocated_credits_closing, 0) as decimal(38, 9)) as ar_unallocated_credits_closing,
        cast(coalesce(balances.open_items, 0) as integer) as open_items
    from months
    left join balances
        on months.business_id = balances.business_id
        and months.month_end = balances.month_end
)

select * from final
