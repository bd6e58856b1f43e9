-- Watch (warn): the marts assume Sage posts no year-end closing journals (P&L accounts cleared to the
-- retained earnings account, int_ledger_account_roles); the sandbox posts none. If Sage ever does, the balance sheet
-- still balances without double counting (the closing legs net the closed year's P&L to zero, and the
-- equity account carries it), but the P&L of the year-end month would show the closing as activity.
-- Returns the transactions that post to the retained earnings account and to P&L accounts at once.
{{ config(severity='warn') }}

with general_ledger as (
    select * from {{ ref('fct_general_ledger') }}
),

per_transaction as (
    select
        business_id,
        transaction_id,
        transaction_type_id,
        min(entry_date) as entry_date,
        sum(case when account_role = 'retained_earnings' then net_amount else 0 end) as retained_earnings_net,
        sum(case when statement = 'profit_and_loss' then net_amount else 0 end) as profit_and_loss_net,
        count(case when account_role = 'retained_earnings' then 1 end) as retained_earnings_entries,
        count(case when statement = 'profit_and_loss' then 1 end) as profit_and_loss_entries
    from general_ledger
    group by business_id, transaction_id, transaction_type_id
)

select *
from per_transaction
where retained_earnings_entries > 0
    and profit_and_loss_entries > 0
