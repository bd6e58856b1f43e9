-- A table, not a view: every forecast mart, the backtest and their tests read it, and as a view each would
-- recompute the whole chain (open items at every origin, habits, probabilities, recurring history).
{{ config(materialized='table') }}
-- One row per forecast origin, week, source and line: where each week's forecast cash comes from, signed
-- + in / − out, in base currency. source open_invoice = open receivables (invoices expected at their
-- probability of collection, credit notes and payments on account negative), line receipts_from_customers;
-- open_bill = open payables, line payments_to_suppliers; recurring:<cash_flow_line> = flows projected from
-- history (int_cash_forecast_recurring), line = the cash_flow_line. doubtful_amount is the part of the open
-- invoices not expected to be collected (not counted in amount); overdue_amount the part of amount that was
-- expected before the origin and is placed in week 1. int_cash_forecast_weekly adds these up per week.
with

items as (
    select
        business_id,
        snapshot_date,
        week_number,
        case when item_type = 'receivable' then 'open_invoice' else 'open_bill' end as source,
        case when item_type = 'receivable' then 'receipts_from_customers' else 'payments_to_suppliers' end
            as line,
        case when item_type = 'receivable' then 1 else -1 end as direction,
        expected_base,
        doubtful_base,
        is_past_expected_date
    from {{ ref('int_cash_forecast_items') }}
),

document_lines as (
    select
        business_id,
        snapshot_date,
        week_number,
        source,
        line,
        sum(direction * expected_base) as amount,
        sum(doubtful_base) as doubtful_amount,
        sum(case when is_past_expected_date then direction * expected_base else 0 end) as overdue_amount
    from items
    group by business_id, snapshot_date, week_number, source, line
),

recurring_lines as (
    select
        business_id,
        snapshot_date,
        week_number,
        'recurring:' || cash_flow_line as source,
        cash_flow_line as line,
        amount,
        0 as doubtful_amount,
        0 as overdue_amount
    from {{ ref('int_cash_forecast_recurring') }}
),

unioned as (
    select * from document_lines
    union all
    select * from recurring_lines
),

final as (
    select
        business_id,
        snapshot_date,
        cast(week_number as integer) as week_number,
        cast(source as varchar) as source,
        cast(line as varchar) as line,
        cast(amount as decimal(38, 9)) as amount,
        cast(doubtful_amount as decimal(38, 9)) as doubtful_amount,
        cast(overdue_amount as decimal(38, 9)) as overdue_amount
    from unioned
)

select * from final
