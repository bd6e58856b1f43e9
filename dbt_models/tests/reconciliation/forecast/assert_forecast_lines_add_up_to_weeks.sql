-- R12d: the forecast's lines explain its weeks. An accountant checks that, per business and week of today's
-- forecast, the lines of fct_cash_forecast_lines (open invoices, open bills, each recurring line) add up to
-- the week's net cash flow, and their doubtful amounts to the week's doubtful receipts, so no number in the
-- weekly view comes from nowhere. Returns the weeks that differ.
with

weeks as (
    select
        business_id,
        snapshot_date,
        week_number,
        net_cash_flow,
        doubtful_receipts_ar
    from {{ ref('fct_cash_forecast_13w') }}
),

lines as (
    select
        business_id,
        snapshot_date,
        week_number,
        sum(amount) as lines_amount,
        sum(doubtful_amount) as lines_doubtful_amount
    from {{ ref('fct_cash_forecast_lines') }}
    group by business_id, snapshot_date, week_number
)

select
    coalesce(weeks.business_id, lines.business_id) as business_id,
    coalesce(weeks.snapshot_date, lines.snapshot_date) as as_of_date,
    coalesce(weeks.net_cash_flow, 0) - coalesce(lines.lines_amount, 0) as difference,
    coalesce(weeks.week_number, lines.week_number) as week_number,
    weeks.net_cash_flow,
    lines.lines_amount,
    weeks.doubtful_receipts_ar,
    lines.lines_doubtful_amount
from weeks
full outer join lines
    on weeks.business_id = lines.business_id
    and weeks.snapshot_date = lines.snapshot_date
    and weeks.week_number = lines.week_number
where weeks.business_id is null
    or abs(coalesce(weeks.net_cash_flow, 0) - coalesce(lines.lines_amount, 0)) > {{ var('reconciliation_tolerance') }}
    or abs(coalesce(weeks.doubtful_receipts_ar, 0) - coalesce(lines.lines_doubtful_amount, 0))
        > {{ var('reconciliation_tolerance') }}
