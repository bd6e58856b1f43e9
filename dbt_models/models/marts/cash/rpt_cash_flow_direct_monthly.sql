-- One row per business, month and cash-flow line: the direct-method cash-flow statement. Every line the
-- classification can produce appears in every month (zero when nothing moved), and every row of a month
-- carries the business's cash in all bank accounts at the start and end of that month, so that
-- closing_cash = opening_cash + Σ net_cash_flow over the month's lines. Months run from the first day of
-- the cash position (first bank entry or accounts_start_date) to the month of as_of_date(); the current
-- month closes at as_of_date().
with

cash_transactions as (
    select * from {{ ref('fct_cash_transactions') }}
),

cash_position_daily as (
    select * from {{ ref('fct_cash_position_daily') }}
),

account_types as (
    select cash_flow_activity, cash_flow_line from {{ ref('sage_ledger_account_types') }}
),

role_types as (
    select cash_flow_activity, cash_flow_line from {{ ref('sage_account_role_types') }}
),

control_accounts as (
    select cash_flow_activity, cash_flow_line from {{ ref('sage_control_accounts') }}
    where cash_flow_line is not null
),

classified_accounts as (
    -- Brings in lines the classification adds on top of the seeds (payroll).
    select cash_flow_activity, cash_flow_line from {{ ref('int_ledger_accounts_classified') }}
),

cash_flow_lines as (
    select cash_flow_activity, cash_flow_line from account_types
    union
    select cash_flow_activity, cash_flow_line from role_types
    union
    select cash_flow_activity, cash_flow_line from control_accounts
    union
    select cash_flow_activity, cash_flow_line from classified_accounts
    where cash_flow_line is not null
),

lines_ordered as (
    -- Presentation order: operating receipts, operating payments, investing, financing, transfers.
    select
        cash_flow_activity,
        cash_flow_line,
        case cash_flow_line
            when 'receipts_from_customers' then 1
            when 'other_operating_receipts' then 2
            when 'payments_to_suppliers' then 3
            when 'payroll' then 4
            when 'tax' then 5
            when 'other_operating_payments' then 6
            when 'capital_expenditure' then 7
            when 'other_investing' then 8
            when 'borrowings' then 9
            when 'equity' then 10
            when 'internal_transfers' then 11
            else 99
        end as line_ordinal
    from cash_flow_lines
),

bank_months as (
    -- Each bank's balance at the start and end of each month it exists in.
    select
        business_id,
        bank_account_id,
        {{ month_end('date_day') }} as month_end,
        min(date_day) as first_day,
        max(date_day) as last_day
    from cash_position_daily
    group by business_id, bank_account_id, {{ month_end('date_day') }}
),

bank_month_balances as (
    select
        bank_months.business_id,
        bank_months.month_end,
        opening.opening_balance,
        closing.closing_balance
    from bank_months
    inner join cash_position_daily as opening
        on bank_months.business_id = opening.business_id
        and bank_months.bank_account_id = opening.bank_account_id
        and bank_months.first_day = opening.date_day
    inner join cash_position_daily as closing
        on bank_months.business_id = closing.business_id
        and bank_months.bank_account_id = closing.bank_account_id
        and bank_months.last_day = closing.date_day
),

months as (
    -- A bank that starts later contributes nothing before its first day: its balance was zero then.
    select
        business_id,
        month_end,
        sum(opening_balance) as opening_cash,
        sum(closing_balance) as closing_cash
    from bank_month_balances
    group by business_id, month_end
),

line_flows as (
    select
        business_id,
        month_end,
        cash_flow_line,
        sum(case when cash_amount > 0 then cash_amount else 0 end) as inflow,
        sum(case when cash_amount < 0 then -cash_amount else 0 end) as outflow,
        sum(cash_amount) as net_cash_flow
    from cash_transactions
    group by business_id, month_end, cash_flow_line
),

final as (
    select
        months.business_id,
        months.month_end,
        lines_ordered.cash_flow_line,
        lines_ordered.cash_flow_activity,
        lines_ordered.line_ordinal,
        coalesce(line_flows.inflow, 0) as inflow,
        coalesce(line_flows.outflow, 0) as outflow,
        coalesce(line_flows.net_cash_flow, 0) as net_cash_flow,
        months.opening_cash,
        months.closing_cash
    from months
    cross join lines_ordered
    left join line_flows
        on months.business_id = line_flows.business_id
        and months.month_end = line_flows.month_end
        and lines_ordered.cash_flow_line = line_flows.cash_flow_line
)

select
    business_id,
    month_end,
    cash_flow_line,
    cash_flow_activity,
    cast(line_ordinal as integer) as line_ordinal,
    cast(inflow as decimal(38, 9)) as inflow,
    cast(outflow as decimal(38, 9)) as outflow,
    cast(net_cash_flow as decimal(38, 9)) as net_cash_flow,
    cast(opening_cash as decimal(38, 9)) as opening_cash,
    cast(closing_cash as decimal(38, 9)) as closing_cash
from final
