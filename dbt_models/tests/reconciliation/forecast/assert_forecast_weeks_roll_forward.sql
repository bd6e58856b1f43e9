-- R12b: the forecast rolls forward week by week. An accountant checks that every week closes at
-- opening + expected receipts − expected payments (documents and recurring flows; doubtful receipts are not
-- cash), that each week opens where the previous one closed, and
-- that the weeks run 1, 2, … without gaps up to the week beyond the horizon.
-- Returns the offending weeks with what was expected.
with

forecast as (
    select
        business_id,
        snapshot_date,
        week_number,
        opening_cash,
        expected_receipts_ar,
        expected_payments_ap,
        recurring_receipts,
        recurring_payments,
        closing_cash,
        lag(closing_cash) over (
            partition by business_id, snapshot_date order by week_number
        ) as previous_closing_cash,
        lag(week_number) over (
            partition by business_id, snapshot_date order by week_number
        ) as previous_week_number,
        count(*) over (partition by business_id, snapshot_date) as weeks_in_forecast
    from {{ ref('fct_cash_forecast_13w') }}
),

checks as (
    select
        *,
        case
            when abs(
                    opening_cash + expected_receipts_ar + recurring_receipts - expected_payments_ap
                    - recurring_payments - closing_cash
                ) > {{ var('reconciliation_tolerance') }}
                then 'closing_cash <> opening_cash + receipts - payments'
            when previous_week_number is null and week_number <> 1
                then 'forecast does not start at week 1'
            when previous_week_number is not null and week_number <> previous_week_number + 1
                then 'gap in week numbers'
            when previous_closing_cash is not null
                and abs(opening_cash - previous_closing_cash) > {{ var('reconciliation_tolerance') }}
                then 'opening_cash <> previous week closing_cash'
            when weeks_in_forecast <> {{ var('forecast_weeks') }} + 1
                then 'forecast does not have forecast_weeks + 1 weeks'
        end as failure
    from forecast
)

select
    business_id,
    snapshot_date as as_of_date,
    case
        when failure = 'closing_cash <> opening_cash + receipts - payments'
            then opening_cash + expected_receipts_ar + recurring_receipts - expected_payments_ap
                - recurring_payments - closing_cash
        when failure = 'opening_cash <> previous week closing_cash'
            then opening_cash - previous_closing_cash
    end as difference,
    week_number,
    failure,
    opening_cash,
    expected_receipts_ar,
    expected_payments_ap,
    recurring_receipts,
    recurring_payments,
    closing_cash,
    previous_closing_cash,
    previous_week_number,
    weeks_in_forecast
from checks
where failure is not null
