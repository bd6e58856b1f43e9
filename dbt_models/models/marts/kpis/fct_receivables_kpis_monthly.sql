-- One row per business and month: receivables balances, credit sales and collections, and the KPIs a credit
-- controller tracks (DSO simple and countback, best-possible DSO, average days delinquent, CEI, overdue shares).
-- The month of as_of_date() is included as of as_of_date() (partial: balances at as_of_date(), sales and days
-- to as_of_date()).
with

credit_sales_monthly as (
    select * from {{ ref('int_credit_sales_monthly') }}
),

ar_balances_monthly as (
    select * from {{ ref('int_ar_balances_monthly') }}
),

monthly as (
    select
        credit_sales_monthly.business_id,
        credit_sales_monthly.month_start,
        credit_sales_monthly.month_end,
        credit_sales_monthly.period_end_date,
        credit_sales_monthly.is_partial_month,
        credit_sales_monthly.days_in_period,
        credit_sales_monthly.credit_sales,
        credit_sales_monthly.collections,
        -- Opening balance = the previous month's closing; the books' first month opens at zero.
        coalesce(
            lag(ar_balances_monthly.ar_closing) over (
                partition by credit_sales_monthly.business_id
                order by credit_sales_monthly.month_end
            ),
            0
        ) as ar_opening,
        ar_balances_monthly.ar_closing,
        ar_balances_monthly.ar_current_closing,
        ar_balances_monthly.ar_overdue_closing,
        ar_balances_monthly.ar_90_plus_closing,
        ar_balances_monthly.ar_unallocated_credits_closing,
        -- "Current" receivables of best-possible DSO and CEI: invoices not yet due net of unallocated credits
        -- (credit notes, payments on account), i.e. everything but the overdue invoices. With the credits
        -- netted here CEI = collected / (collected + overdue), within 0-100 whenever the month collected
        -- anything, and average days delinquent = overdue / sales x days >= 0 (counting the credits only in
        -- the balance would push CEI over 100 and ADD below 0). With no open credits it is ar_current_closing.
        ar_balances_monthly.ar_current_closing + ar_balances_monthly.ar_unallocated_credits_closing
            as ar_not_overdue_closing
    from credit_sales_monthly
    inner join ar_balances_monthly
        on credit_sales_monthly.business_id = ar_balances_monthly.business_id
        and credit_sales_monthly.month_end = ar_balances_monthly.month_end
),

-- The three-month base of the simple DSO ("most commonly accepted"); fewer months at the start of the books.
trailing_three_months as (
    select
        *,
        sum(credit_sales) over (
            partition by business_id order by month_end rows between 2 preceding and current row
        ) as credit_sales_3m,
        sum(days_in_period) over (
            partition by business_id order by month_end rows between 2 preceding and current row
        ) as days_3m
    from monthly
),

-- Countback: for each month, walk back through it and the months before it, latest first, with the running
-- total of their credit sales.
countback_steps as (
    select
        target.business_id,
        target.month_end,
        target.ar_closing,
        history.month_end as history_month_end,
        history.credit_sales,
        history.days_in_period,
        sum(history.credit_sales) over (
            partition by target.business_id, target.month_end
            order by history.month_end desc
            rows between unbounded preceding and current row
        ) as cumulative_credit_sales
    from monthly as target
    inner join monthly as history
        on target.business_id = history.business_id
        and history.month_end <= target.month_end
),

-- The walk stops in the first month (going back) whose sales no longer fit in the balance left over.
countback_stop as (
    select
        business_id,
        month_end,
        max(history_month_end) as stop_month_end
    from countback_steps
    where cumulative_credit_sales > ar_closing
    group by business_id, month_end
),

-- Months before the stop month count all their days, the stop month the share of its sales still left in the
-- balance. If the balance exceeds every month's sales since the books began, DSO is all those days (a floor).
-- A balance of zero or less takes no days of sales to cover.
countback as (
    select
        countback_steps.business_id,
        countback_steps.month_end,
        sum(
            case
                when countback_steps.ar_closing <= 0 then 0
                when countback_stop.stop_month_end is null
                    or countback_steps.history_month_end > countback_stop.stop_month_end
                    then countback_steps.days_in_period
                when countback_steps.history_month_end = countback_stop.stop_month_end
                    then (countback_steps.ar_closing
                        - (countback_steps.cumulative_credit_sales - countback_steps.credit_sales))
                        / countback_steps.credit_sales * countback_steps.days_in_period
                else 0
            end
        ) as dso_countback
    from countback_steps
    left join countback_stop
        on countback_steps.business_id = countback_stop.business_id
        and countback_steps.month_end = countback_stop.month_end
    group by countback_steps.business_id, countback_steps.month_end
),

ratios as (
    select
        trailing_three_months.*,
        -- DSO is undefined when the last three months sold nothing net (or less): null, not a division by zero.
        cast(
            case when trailing_three_months.credit_sales_3m > 0 then
                trailing_three_months.ar_closing / trailing_three_months.credit_sales_3m * trailing_three_months.days_3m
            end as decimal(18, 4)
        ) as dso_simple,
        cast(countback.dso_countback as decimal(18, 4)) as dso_countback,
        cast(
            case when trailing_three_months.credit_sales_3m > 0 then
                trailing_three_months.ar_not_overdue_closing / trailing_three_months.credit_sales_3m
                    * trailing_three_months.days_3m
            end as decimal(18, 4)
        ) as best_possible_dso,
        cast(
            (trailing_three_months.ar_opening + trailing_three_months.credit_sales - trailing_three_months.ar_closing)
            / nullif(
                trailing_three_months.ar_opening + trailing_three_months.credit_sales
                    - trailing_three_months.ar_not_overdue_closing,
                0
            ) * 100 as decimal(18, 4)
        ) as cei,
        cast(
            trailing_three_months.ar_overdue_closing / nullif(trailing_three_months.ar_closing, 0) * 100
            as decimal(18, 4)
        ) as overdue_pct,
        cast(
            trailing_three_months.ar_90_plus_closing / nullif(trailing_three_months.ar_closing, 0) * 100
            as decimal(18, 4)
        ) as pct_90_plus
    from trailing_three_months
    inner join countback
        on trailing_three_months.business_id = countback.business_id
        and trailing_three_months.month_end = countback.month_end
),

final as (
    select
        business_id,
        month_end,
        month_start,
        period_end_date,
        is_partial_month,
        cast(days_in_period as integer) as days_in_period,
        cast(ar_opening as decimal(38, 9)) as ar_opening,
        cast(ar_closing as decimal(38, 9)) as ar_closing,
        cast(ar_current_closing as decimal(38, 9)) as ar_current_closing,
        cast(ar_overdue_closing as decimal(38, 9)) as ar_overdue_closing,
        cast(ar_90_plus_closing as decimal(38, 9)) as ar_90_plus_closing,
        cast(ar_unallocated_credits_closing as decimal(38, 9)) as ar_unallocated_credits_closing,
        cast(credit_sales as decimal(38, 9)) as credit_sales,
        cast(collections as decimal(38, 9)) as collections,
        cast(credit_sales_3m as decimal(38, 9)) as credit_sales_3m,
        cast(days_3m as integer) as days_3m,
        dso_simple,
        dso_countback,
        best_possible_dso,
        -- Difference of the rounded figures, so dso_simple = best_possible_dso + average_days_delinquent exactly.
        cast(dso_simple - best_possible_dso as decimal(18, 4)) as average_days_delinquent,
        cei,
        overdue_pct,
        pct_90_plus
    from ratios
)

select * from final
