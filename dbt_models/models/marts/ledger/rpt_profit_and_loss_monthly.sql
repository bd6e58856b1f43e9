-- One row per business, profit-and-loss ledger account and month, from the trial balance.
-- amount is in presentation sign (income positive, expenses positive), so
-- net profit = Σ amount of income − Σ amount of expense = Σ profit_contribution.
with balances as (
    select * from {{ ref('fct_account_balances_monthly') }}
    where statement = 'profit_and_loss'
),

presented as (
    select
        balances.*,
        -- a credit on an income account is income; a debit on an expense account is expense
        case when account_class = 'income' then -1 else 1 end as presentation_sign
    from balances
)

select
    business_id,
    ledger_account_id,
    month_start,
    month_end,
    fiscal_year,
    fiscal_period,
    nominal_code,
    account_name,
    ledger_account_type_id,
    account_class,
    report_section,
    ordinal,
    cast(presentation_sign * period_net as decimal(38, 9)) as amount,
    cast(presentation_sign * ytd_net as decimal(38, 9)) as ytd_amount,
    cast(-period_net as decimal(38, 9)) as profit_contribution,
    cast(-ytd_net as decimal(38, 9)) as ytd_profit_contribution
from presented
