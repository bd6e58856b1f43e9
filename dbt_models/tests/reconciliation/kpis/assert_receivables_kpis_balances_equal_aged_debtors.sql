-- The receivables KPIs rest on the same balances as the aged debtors report. An accountant checks, per business
-- and month, that the KPI balances at the month's period end (the month-end, or as_of_date() in the current
-- month) equal the totals of rpt_ar_aging at that date — closing balance, not yet due, overdue, 90+ and
-- unallocated credits — and that each month opens at the previous month's close.
-- Returns the months that differ, with both sides.
with

kpis as (
    select
        business_id,
        month_end,
        period_end_date,
        ar_opening,
        ar_closing,
        ar_current_closing,
        ar_overdue_closing,
        ar_90_plus_closing,
        ar_unallocated_credits_closing,
        lag(ar_closing) over (partition by business_id order by month_end) as previous_ar_closing
    from {{ ref('fct_receivables_kpis_monthly') }}
),

aged_debtors as (
    select
        business_id,
        as_of_date,
        sum(total_outstanding) as total_outstanding,
        sum(current_amount) as current_amount,
        sum(d1_30 + d31_60 + d61_90 + d90_plus) as overdue_amount,
        sum(d90_plus) as d90_plus,
        sum(unallocated_credits) as unallocated_credits
    from {{ ref('rpt_ar_aging') }}
    group by business_id, as_of_date
),

compared as (
    select
        kpis.*,
        coalesce(aged_debtors.total_outstanding, 0) as aging_total_outstanding,
        coalesce(aged_debtors.current_amount, 0) as aging_current_amount,
        coalesce(aged_debtors.overdue_amount, 0) as aging_overdue_amount,
        coalesce(aged_debtors.d90_plus, 0) as aging_d90_plus,
        coalesce(aged_debtors.unallocated_credits, 0) as aging_unallocated_credits
    from kpis
    left join aged_debtors
        on kpis.business_id = aged_debtors.business_id
        and kpis.period_end_date = aged_debtors.as_of_date
)

select
    business_id,
    period_end_date as as_of_date,
    ar_closing - aging_total_outstanding as difference,
    month_end,
    ar_opening,
    previous_ar_closing,
    ar_closing,
    aging_total_outstanding,
    ar_current_closing,
    aging_current_amount,
    ar_overdue_closing,
    aging_overdue_amount,
    ar_90_plus_closing,
    aging_d90_plus,
    ar_unallocated_credits_closing,
    aging_unallocated_credits
from compared
where abs(ar_closing - aging_total_outstanding) > {{ var('reconciliation_tolerance') }}
    or abs(ar_current_closing - aging_current_amount) > {{ var('reconciliation_tolerance') }}
    or abs(ar_overdue_closing - aging_overdue_amount) > {{ var('reconciliation_tolerance') }}
    or abs(ar_90_plus_closing - aging_d90_plus) > {{ var('reconciliation_tolerance') }}
    or abs(ar_unallocated_credits_closing - aging_unallocated_credits) > {{ var('reconciliation_tolerance') }}
    or abs(ar_opening - coalesce(previous_ar_closing, 0)) > {{ var('reconciliation_tolerance') }}
