-- Credit sales in the receivables KPIs are what the sales documents posted to the debtors control account.
-- An accountant checks, per business and month, that Σ credit_sales (invoices + quick-entry invoices − credit
-- notes − quick-entry credit notes, gross, base currency) equals the net debit their transactions posted to the
-- debtors control ledger account(s) (int_ledger_account_roles). A difference means a document counted without its posting (or the reverse),
-- e.g. a void or deleted document treated as posted. Returns the months that differ.
with

credit_sales as (
    select
        business_id,
        month_start,
        period_end_date,
        credit_sales
    from {{ ref('int_credit_sales_monthly') }}
),

debtors_control_accounts as (
    select
        business_id,
        ledger_account_id
    from {{ ref('int_ledger_account_roles') }}
    where account_role = 'debtors_control'
),

sales_document_postings as (
    select
        entries.business_id,
        entries.entry_date,
        entries.net_amount
    from {{ ref('int_ledger_entries_signed') }} as entries
    inner join debtors_control_accounts
        on entries.business_id = debtors_control_accounts.business_id
        and entries.ledger_account_id = debtors_control_accounts.ledger_account_id
    where entries.transaction_type_id in (
        'SALES_INVOICE', 'SALES_CREDIT_NOTE', 'SALES_QUICK_ENTRY_INVOICE', 'SALES_QUICK_ENTRY_CREDIT_NOTE'
    )
),

ledger_by_month as (
    select
        credit_sales.business_id,
        credit_sales.month_start,
        sum(sales_document_postings.net_amount) as debtors_control_net_debit
    from credit_sales
    inner join sales_document_postings
        on credit_sales.business_id = sales_document_postings.business_id
        and sales_document_postings.entry_date between credit_sales.month_start and credit_sales.period_end_date
    group by credit_sales.business_id, credit_sales.month_start
)

select
    credit_sales.business_id,
    credit_sales.period_end_date as as_of_date,
    credit_sales.credit_sales - coalesce(ledger_by_month.debtors_control_net_debit, 0) as difference,
    credit_sales.month_start,
    credit_sales.credit_sales,
    coalesce(ledger_by_month.debtors_control_net_debit, 0) as debtors_control_net_debit
from credit_sales
left join ledger_by_month
    on credit_sales.business_id = ledger_by_month.business_id
    and credit_sales.month_start = ledger_by_month.month_start
where abs(credit_sales.credit_sales - coalesce(ledger_by_month.debtors_control_net_debit, 0))
    > {{ var('reconciliation_tolerance') }}
