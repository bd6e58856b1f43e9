-- One row per business: how wrong the 13-week cash forecast has been (fct_cash_forecast_backtest over the
-- last forecast_backtest_months month-end origins): the mean absolute error of the weekly closing cash, and
-- that as a % of the average actual closing cash over the same weeks, beside the same figures for the naive
-- (cash stays flat) and documents-only baselines. A business without a backtest (too young, no history) has
-- a row with zero weeks compared and null errors.
with

businesses as (
    select business_id from {{ ref('stg_sage__financial_settings') }}
),

backtest as (
    select * from {{ ref('fct_cash_forecast_backtest') }}
),

by_business as (
    select
        business_id,
        count(distinct origin_date) as origins_compared,
        count(*) as weeks_compared,
        -- Means to the cent, exactly alike on DuckDB and PostgreSQL (divide_to_cent).
        {{ divide_to_cent('sum(absolute_error)', 'count(*)') }} as mae,
        {{ divide_to_cent('sum(actual_closing_cash)', 'count(*)') }} as average_cash,
        {{ divide_to_cent('sum(naive_absolute_error)', 'count(*)') }} as naive_mae,
        {{ divide_to_cent('sum(documents_only_absolute_error)', 'count(*)') }} as documents_only_mae
    from backtest
    group by business_id
),

final as (
    select
        businesses.business_id,
        cast(coalesce(by_business.origins_compared, 0) as integer) as origins_compared,
        cast(coalesce(by_business.weeks_compared, 0) as integer) as weeks_compared,
        cast(by_business.average_cash as decimal(38, 9)) as average_cash,
        cast(by_business.mae as decimal(38, 9)) as mae,
        cast(100 * by_business.mae / nullif(abs(by_business.average_cash), 0) as decimal(18, 2))
            as mae_pct_of_average_cash,
        cast(by_business.naive_mae as decimal(38, 9)) as naive_mae,
        cast(100 * by_business.naive_mae / nullif(abs(by_business.average_cash), 0) as decimal(18, 2))
            as naive_mae_pct_of_average_cash,
        cast(by_business.documents_only_mae as decimal(38, 9)) as documents_only_mae,
        cast(100 * by_business.documents_only_mae / nullif(abs(by_business.average_cash), 0) as decimal(18, 2))
            as documents_only_mae_pct_of_average_cash
    from businesses
    left join by_business
        on businesses.business_id = by_business.business_id
)

select * from final
