-- The receivables KPIs rest on the same balances as the aged debtors report. An accountant checks, per business
-- and month, that ar_closing equals Σ outstanding_base of the AR open items at the month's period end (the
-- month-end, or as_of_date() in the current month), that ar_current_closing is the not-yet-due part of it, and
-- that each month opens at the previous month's close. Returns the months that differ.
with

kpis as (
    select
        business_id,
        month_end,
        period_end_date,
        ar_opening,
        ar_closing,
        ar_current_closing,
        lag(ar_closing) over (partition by business_id order by month_end) as previous_ar_closing
    from {{ ref('fct_receivables_kpis_monthly') }}
),

open_items as (
    select
        business_id,
        as_of_date,
        sum(outstanding_base) as outstanding_base,
        sum(case when aging_bucket = 'current' then outstanding_base else 0 end) as current_base
    from {{ ref('fct_ar_open_items') }}
    group by business_id, as_of_date
),

compared as (
    select
        kpis.*,
        coalesce(open_items.outstanding_base, 0) as open_items_outstanding_base,
        coalesce(open_items.current_base, 0) as open_items_current_base
    from kpis
    left join open_items
        on kpis.business_id = open_items.business_id
        and kpis.period_end_date = open_items.as_of_date
)

select * from compared
where abs(ar_closing - open_items_outstanding_base) > {{ var('reconciliation_tolerance') }}
    or abs(ar_current_closing - open_items_current_base) > {{ var('reconciliation_tolerance') }}
    or abs(ar_opening - coalesce(previous_ar_closing, 0)) > {{ var('reconciliation_tolerance') }}
