-- R4a. The P&L ties to the ledger: per business, P&L account and month, the P&L amount equals the
-- trial balance's period_net in presentation sign (income −period_net, expense +period_net), and every
-- P&L account-month of the trial balance is on the P&L (and nothing else is). Returns the mismatches.
{%- set tolerance = var('reconciliation_tolerance') %}

with profit_and_loss as (
    select business_id, ledger_account_id, month_end, amount, profit_contribution
    from {{ ref('rpt_profit_and_loss_monthly') }}
),

trial_balance as (
    select
        business_id,
        ledger_account_id,
        month_end,
        case when account_class = 'income' then -period_net else period_net end as expected_amount,
        -period_net as expected_profit_contribution
    from {{ ref('fct_account_balances_monthly') }}
    where statement = 'profit_and_loss'
),

compared as (
    select
        coalesce(profit_and_loss.business_id, trial_balance.business_id) as business_id,
        coalesce(profit_and_loss.ledger_account_id, trial_balance.ledger_account_id) as ledger_account_id,
        coalesce(profit_and_loss.month_end, trial_balance.month_end) as month_end,
        profit_and_loss.amount,
        trial_balance.expected_amount,
        profit_and_loss.profit_contribution,
        trial_balance.expected_profit_contribution
    from profit_and_loss
    full outer join trial_balance
        on profit_and_loss.business_id = trial_balance.business_id
        and profit_and_loss.ledger_account_id = trial_balance.ledger_account_id
        and profit_and_loss.month_end = trial_balance.month_end
)

select
    business_id,
    month_end as as_of_date,
    coalesce(amount, 0) - coalesce(expected_amount, 0) as difference,
    ledger_account_id,
    amount,
    expected_amount,
    profit_contribution,
    expected_profit_contribution
from compared
where amount is null
    or expected_amount is null
    or abs(amount - expected_amount) > {{ tolerance }}
    or abs(profit_contribution - expected_profit_contribution) > {{ tolerance }}
