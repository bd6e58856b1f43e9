-- R12c: nothing open is lost or counted twice by the forecast. An accountant checks that the receipts over
-- all weeks (1–13 and beyond the horizon) — those expected plus those shown as doubtful (not expected to be
-- collected) — equal the open AR today (Σ outstanding_base of the latest fct_ar_open_items, credit notes and
-- payments on account negative), and the expected payments equal the open AP today, per business.
-- Returns the businesses and ledger sides that differ.
with

forecast_totals as (
    select
        business_id,
        sum(expected_receipts_ar + doubtful_receipts_ar) as receivable_forecast,
        sum(expected_payments_ap) as payable_forecast
    from {{ ref('fct_cash_forecast_13w') }}
    group by business_id
),

forecast as (
    select business_id, 'receivable' as side, receivable_forecast as forecast_total from forecast_totals
    union all
    select business_id, 'payable', payable_forecast from forecast_totals
),

open_items as (
    select business_id, 'receivable' as side, sum(outstanding_base) as open_items_total
    from {{ ref('fct_ar_open_items') }}
    where is_latest
    group by business_id
    union all
    select business_id, 'payable', sum(outstanding_base)
    from {{ ref('fct_ap_open_items') }}
    where is_latest
    group by business_id
)

select
    coalesce(forecast.business_id, open_items.business_id) as business_id,
    {{ as_of_date() }} as as_of_date,
    coalesce(forecast.forecast_total, 0) - coalesce(open_items.open_items_total, 0) as difference,
    coalesce(forecast.side, open_items.side) as side,
    forecast.forecast_total,
    open_items.open_items_total
from forecast
full outer join open_items
    on forecast.business_id = open_items.business_id
    and forecast.side = open_items.side
where forecast.business_id is null
    or abs(coalesce(forecast.forecast_total, 0) - coalesce(open_items.open_items_total, 0))
        > {{ var('reconciliation_tolerance') }}
