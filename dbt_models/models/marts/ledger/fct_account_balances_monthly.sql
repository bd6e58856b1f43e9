-- One row per business, ledger account and month (trial balance by month): a dense spine from the
-- business's first month to the month of as_of_date(), crossed with every account that exists or has
-- entries, so a month without activity still carries the balance forward. Debits positive. Balances
-- are cumulative since the first entry for EVERY account (a true trial balance: Σ closing = 0 each
-- month); ytd_net is the movement since the start of the fiscal year (for P&L accounts the year's result).
-- Entries dated after the as_of_date() month are outside the spine.
with months as (
    select * from {{ ref('int_ledger_months') }}
),

accounts as (
    select * from {{ ref('int_ledger_accounts_classified') }}
),

general_ledger as (
    select * from {{ ref('fct_general_ledger') }}
),

monthly_activity as (
    select
        business_id,
        ledger_account_id,
        period_month_end as month_end,
        sum(debit) as period_debit,
        sum(credit) as period_credit,
        sum(net_amount) as period_net
    from general_ledger
    group by business_id, ledger_account_id, period_month_end
),

account_universe as (
    select business_id, ledger_account_id from accounts where not is_deleted
    union
    select business_id, ledger_account_id from general_ledger
),

spine as (
    select
        months.business_id,
        account_universe.ledger_account_id,
        months.month_start,
        months.month_end,
        months.fiscal_year,
        months.fiscal_period
    from months
    inner join account_universe
        on months.business_id = account_universe.business_id
),

activity_on_spine as (
    select
        spine.*,
        coalesce(monthly_activity.period_debit, 0) as period_debit,
        coalesce(monthly_activity.period_credit, 0) as period_credit,
        coalesce(monthly_activity.period_net, 0) as period_net
    from spine
    left join monthly_activity
        on spine.business_id = monthly_activity.business_id
        and spine.ledger_account_id = monthly_activity.ledger_account_id
        and spine.month_end = monthly_activity.month_end
),

balances as (
    select
        activity_on_spine.*,
        sum(period_net) over (
            partition by business_id, ledger_account_id
            order by month_end
            rows between unbounded preceding and current row
        ) as closing_balance,
        sum(period_net) over (
            partition by business_id, ledger_account_id, fiscal_year
            order by month_end
            rows between unbounded preceding and current row
        ) as ytd_net
    from activity_on_spine
)

select
    balances.business_id,
    balances.ledger_account_id,
    balances.month_start,
    balances.month_end,
    balances.fiscal_year,
    balances.fiscal_period,
    cast(accounts.nominal_code as bigint) as nominal_code,
    accounts.account_name,
    accounts.ledger_account_type_id,
    accounts.statement,
    accounts.account_class,
    accounts.normal_balance,
    accounts.report_section,
    cast(accounts.ordinal as integer) as ordinal,
    cast(balances.closing_balance - balances.period_net as decimal(38, 9)) as opening_balance,
    cast(balances.period_debit as decimal(38, 9)) as period_debit,
    cast(balances.period_credit as decimal(38, 9)) as period_credit,
    cast(balances.period_net as decimal(38, 9)) as period_net,
    cast(balances.closing_balance as decimal(38, 9)) as closing_balance,
    cast(balances.ytd_net as decimal(38, 9)) as ytd_net
from balances
left join accounts
    on balances.business_id = accounts.business_id
    and balances.ledger_account_id = accounts.ledger_account_id
