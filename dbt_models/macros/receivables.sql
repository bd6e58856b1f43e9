{#- Helpers shared by the receivables (AR) and payables (AP) models: the same open-item and aging logic
    runs over int_ar_documents and int_ap_documents. SQL that DuckDB and PostgreSQL both accept. -#}

{#- The dates open items and aging are reconstructed at, as a subquery (business_id, as_of_date):
    every month-end from the month of the business's accounts_start_date up to as_of_date(), plus
    as_of_date() itself (a union, so an as_of_date() that is a month-end appears once). -#}
{% macro receivables_as_of_dates() -%}
    (
        select
            financial_settings.business_id,
            {{ month_end('month_starts.date_day') }} as as_of_date
        from {{ ref('stg_sage__financial_settings') }} as financial_settings
        inner join {{ date_series(
            month_start("(select min(accounts_start_date) from " ~ ref('stg_sage__financial_settings') ~ ")"),
            as_of_date(),
            'month'
        ) }} as month_starts
            on month_starts.date_day >= {{ month_start('financial_settings.accounts_start_date') }}
        where {{ month_end('month_starts.date_day') }} <= {{ as_of_date() }}
        union
        select
            business_id,
            {{ as_of_date() }} as as_of_date
        from {{ ref('stg_sage__financial_settings') }}
    )
{%- endmacro %}

{#- Aging bucket of an open item from its days past due (as_of_date − due_date): not yet due or due
    today is current; 90+ starts at 91 days. -#}
{% macro aging_bucket(days_past_due) -%}
    case
        when {{ days_past_due }} <= 0 then 'current'
        when {{ days_past_due }} <= 30 then '1-30'
        when {{ days_past_due }} <= 60 then '31-60'
        when {{ days_past_due }} <= 90 then '61-90'
        else '90+'
    end
{%- endmacro %}

{#- Open items of a ledger (int_ar_documents or int_ap_documents) at every as-of date. See
    fct_ar_open_items.sql for the rules; the AP mart runs the same SQL over int_ap_documents. -#}
{% macro open_items(documents_model) -%}
with

documents as (
    select * from {{ ref(documents_model) }}
),

allocations as (
    select
        business_id,
        artefact_type,
        artefact_id,
        allocation_date,
        amount + discount as cleared_doc
    from {{ ref('int_artefact_allocations_unioned') }}
),

as_of_dates as (
    select * from {{ receivables_as_of_dates() }} as dates
),

-- Each document only at the as-of dates it can be open at: issued by then and not yet settled in
-- full (settled_date is the date of the allocation that cleared it, null while anything is left).
-- This avoids crossing every document with every as-of date: paid invoices meet one or two.
document_as_of_dates as (
    select
        documents.*,
        as_of_dates.as_of_date
    from documents
    inner join as_of_dates
        on documents.business_id = as_of_dates.business_id
        and documents.document_date <= as_of_dates.as_of_date
        and (documents.settled_date is null or documents.settled_date > as_of_dates.as_of_date)
),

allocated_to_date as (
    select
        document_as_of_dates.business_id,
        document_as_of_dates.artefact_type,
        document_as_of_dates.document_id,
        document_as_of_dates.as_of_date,
        sum(allocations.cleared_doc) as allocated_doc,
        count(*) as allocation_count
    from document_as_of_dates
    inner join allocations
        on document_as_of_dates.business_id = allocations.business_id
        and document_as_of_dates.artefact_type = allocations.artefact_type
        and document_as_of_dates.document_id = allocations.artefact_id
        and allocations.allocation_date <= document_as_of_dates.as_of_date
    group by
        document_as_of_dates.business_id,
        document_as_of_dates.artefact_type,
        document_as_of_dates.document_id,
        document_as_of_dates.as_of_date
),

outstanding_doc as (
    select
        document_as_of_dates.*,
        coalesce(allocated_to_date.allocated_doc, 0) as allocated_to_date_doc,
        coalesce(allocated_to_date.allocation_count, 0) as allocations_to_date,
        document_as_of_dates.total_doc - coalesce(allocated_to_date.allocated_doc, 0) as unsigned_outstanding_doc
    from document_as_of_dates
    left join allocated_to_date
        on document_as_of_dates.business_id = allocated_to_date.business_id
        and document_as_of_dates.artefact_type = allocated_to_date.artefact_type
        and document_as_of_dates.document_id = allocated_to_date.document_id
        and document_as_of_dates.as_of_date = allocated_to_date.as_of_date
),

-- Base-currency outstanding at the book rate. When every allocation the document has is dated by the
-- as-of date, the document is at that date as it is now, so Sage's base_currency_outstanding_amount is
-- exact (always the case at the latest as-of date when the books were read that day). Otherwise
-- history is rebuilt: nothing allocated yet → the base total; fully cleared → 0; part-cleared →
-- total_base × outstanding_doc / total_doc in cents, half away from zero as Sage rounds. DuckDB divides
-- decimals as doubles, so the quotient's cents are only a first guess, corrected by a cent with exact
-- decimal products when the guess is on the wrong side of a half cent (amounts here are positive).
base_first_guess as (
    select
        outstanding_doc.*,
        case
            when allocations_to_date = allocation_count then base_currency_outstanding_amount
            when allocations_to_date = 0 then total_base
            when unsigned_outstanding_doc = 0 then 0
        end as settled_base,
        cast(round(
            cast(total_base * unsigned_outstanding_doc / nullif(total_doc, 0) as decimal(38, 9)),
            2
        ) as decimal(38, 2)) as guessed_base
    from outstanding_doc
),

outstanding_base as (
    select
        base_first_guess.*,
        coalesce(
            settled_base,
            case
                when total_base * unsigned_outstanding_doc < (guessed_base - 0.005) * total_doc
                    then guessed_base - 0.01
                when total_base * unsigned_outstanding_doc >= (guessed_base + 0.005) * total_doc
                    then guessed_base + 0.01
                else guessed_base
            end
        ) as unsigned_outstanding_base
    from base_first_guess
),

final as (
    select
        business_id,
        as_of_date,
        document_type,
        document_id,
        document_number,
        contact_id,
        document_date,
        due_date,
        currency_id,
        cast(exchange_rate as decimal(38, 9)) as exchange_rate,
        cast(sign * total_doc as decimal(38, 9)) as total_doc,
        cast(sign * allocated_to_date_doc as decimal(38, 9)) as allocated_to_date_doc,
        cast(sign * unsigned_outstanding_doc as decimal(38, 9)) as outstanding_doc,
        cast(sign * total_base as decimal(38, 9)) as total_base,
        cast(sign * unsigned_outstanding_base as decimal(38, 9)) as outstanding_base,
        cast(as_of_date - due_date as integer) as days_past_due,
        {{ aging_bucket('(as_of_date - due_date)') }} as aging_bucket,
        as_of_date = {{ as_of_date() }} as is_latest,
        -- Rebuilt in proportion (not Sage's own figure): may differ by a cent from what Sage had at D
        -- after several part payments, which Sage rounds one at a time.
        settled_base is null as is_outstanding_base_prorated
    from outstanding_base
    where unsigned_outstanding_doc <> 0
)

select * from final
{%- endmacro %}

{#- Aging per contact from fct_ar_open_items / fct_ap_open_items. See rpt_ar_aging.sql. -#}
{% macro aging_report(open_items_model) -%}
with

open_items as (
    select * from {{ ref(open_items_model) }}
),

contacts as (
    select
        business_id,
        contact_id,
        contact_name,
        credit_limit
    from {{ ref('dim_contacts') }}
),

-- Debit documents (invoices, quick-entry invoices) go to the bucket of their days past due; credit
-- notes and payments on account, whatever their age, go to unallocated_credits (negative), so that
-- the buckets show what is owed and overdue and the credits show what could still be set against it.
by_contact as (
    select
        business_id,
        as_of_date,
        contact_id,
        sum(outstanding_base) as total_outstanding,
        sum(case when is_credit then 0 when aging_bucket = 'current' then outstanding_base else 0 end)
            as current_amount,
        sum(case when is_credit then 0 when aging_bucket = '1-30' then outstanding_base else 0 end) as d1_30,
        sum(case when is_credit then 0 when aging_bucket = '31-60' then outstanding_base else 0 end) as d31_60,
        sum(case when is_credit then 0 when aging_bucket = '61-90' then outstanding_base else 0 end) as d61_90,
        sum(case when is_credit then 0 when aging_bucket = '90+' then outstanding_base else 0 end) as d90_plus,
        sum(case when is_credit then outstanding_base else 0 end) as unallocated_credits,
        min(case when not is_credit then due_date end) as oldest_due_date,
        count(*) as open_documents
    from (
        select
            open_items.*,
            document_type in ('credit_note', 'quick_entry_credit_note', 'payment_on_account') as is_credit
        from open_items
    ) as classified
    group by business_id, as_of_date, contact_id
),

final as (
    select
        by_contact.business_id,
        by_contact.as_of_date,
        by_contact.contact_id,
        contacts.contact_name,
        cast(by_contact.total_outstanding as decimal(38, 9)) as total_outstanding,
        cast(by_contact.current_amount as decimal(38, 9)) as current_amount,
        cast(by_contact.d1_30 as decimal(38, 9)) as d1_30,
        cast(by_contact.d31_60 as decimal(38, 9)) as d31_60,
        cast(by_contact.d61_90 as decimal(38, 9)) as d61_90,
        cast(by_contact.d90_plus as decimal(38, 9)) as d90_plus,
        cast(by_contact.unallocated_credits as decimal(38, 9)) as unallocated_credits,
        by_contact.oldest_due_date,
        cast(by_contact.open_documents as integer) as open_documents,
        cast(contacts.credit_limit as decimal(38, 9)) as credit_limit,
        by_contact.as_of_date = {{ as_of_date() }} as is_latest
    from by_contact
    left join contacts
        on by_contact.business_id = contacts.business_id
        and by_contact.contact_id = contacts.contact_id
)

select * from final
{%- endmacro %}


{#- The posted documents of one ledger, AR (side 'sales', payments on account of CUSTOMER_RECEIPT) or AP
    (side 'purchase', of VENDOR_PAYMENT), with the allocation summary open_items() reads. The rules are
    written once here; int_ar_documents and int_ap_documents only choose the side. -#}
{% macro ledger_documents(side, payment_type, invoice_number, credit_note_number) -%}
with

invoices as (
    select * from {{ ref('stg_sage__' ~ side ~ '_invoices') }}
    where is_posted
),

credit_notes as (
    select * from {{ ref('stg_sage__' ~ side ~ '_credit_notes') }}
    where is_posted
),

quick_entries as (
    select * from {{ ref('stg_sage__' ~ side ~ '_quick_entries') }}
    where is_posted
),

payments as (
    select * from {{ ref('stg_sage__contact_payments') }}
    where transaction_type_id = '{{ payment_type }}'
        and payment_on_account_id is not null
        and not is_deleted
        and coalesce(payment_on_account_status_id, '') not in ('VOID', 'DRAFT', 'PRO_FORMA')
),

allocations as (
    select * from {{ ref('int_artefact_allocations_unioned') }}
),

documents as (
    select
        business_id,
        'invoice' as document_type,
        '{{ side }}_invoice' as artefact_type,
        {{ side }}_invoice_id as document_id,
        {{ invoice_number }} as document_number,
        reference,
        contact_id,
        date as document_date,
        coalesce(due_date, date) as due_date,
        currency_id,
        exchange_rate,
        1 as sign,
        total_amount as total_doc,
        base_currency_total_amount as total_base,
        outstanding_amount,
        base_currency_outstanding_amount,
        status_id,
        transaction_id,
        cast(null as varchar) as contact_payment_id
    from invoices
    union all
    select
        business_id,
        'credit_note',
        '{{ side }}_credit_note',
        {{ side }}_credit_note_id,
        {{ credit_note_number }},
        reference,
        contact_id,
        date,
        date,
        currency_id,
        exchange_rate,
        -1,
        total_amount,
        base_currency_total_amount,
        outstanding_amount,
        base_currency_outstanding_amount,
        status_id,
        transaction_id,
        cast(null as varchar)
    from credit_notes
    union all
    select
        business_id,
        case when quick_entry_type_id = 'CREDIT_NOTE' then 'quick_entry_credit_note' else 'quick_entry_invoice' end,
        '{{ side }}_quick_entry',
        {{ side }}_quick_entry_id,
        displayed_as,
        reference,
        contact_id,
        date,
        case when quick_entry_type_id = 'CREDIT_NOTE' then date else coalesce(due_date, date) end,
        currency_id,
        exchange_rate,
        case when quick_entry_type_id = 'CREDIT_NOTE' then -1 else 1 end,
        total_amount,
        base_currency_total_amount,
        outstanding_amount,
        base_currency_outstanding_amount,
        status_id,
        transaction_id,
        cast(null as varchar)
    from quick_entries
    union all
    select
        business_id,
        'payment_on_account',
        'payment_on_account',
        payment_on_account_id,
        coalesce(payment_on_account_displayed_as, displayed_as),
        coalesce(payment_on_account_reference, reference),
        coalesce(payment_on_account_contact_id, contact_id),
        coalesce(payment_on_account_date, date),
        coalesce(payment_on_account_date, date),
        coalesce(payment_on_account_currency_id, currency_id),
        coalesce(payment_on_account_exchange_rate, exchange_rate),
        -1,
        payment_on_account_total_amount,
        payment_on_account_base_currency_total_amount,
        payment_on_account_outstanding_amount,
        payment_on_account_base_currency_outstanding_amount,
        payment_on_account_status_id,
        transaction_id,
        contact_payment_id
    from payments
),

allocation_summary as (
    select
        business_id,
        artefact_type,
        artefact_id,
        sum(amount + discount) as allocated_doc,
        count(*) as allocation_count,
        max(allocation_date) as last_allocation_date
    from allocations
    group by business_id, artefact_type, artefact_id
),

final as (
    select
        documents.business_id,
        documents.document_type,
        documents.artefact_type,
        documents.document_id,
        documents.document_number,
        documents.reference,
        documents.contact_id,
        documents.document_date,
        documents.due_date,
        documents.currency_id,
        cast(documents.exchange_rate as decimal(38, 9)) as exchange_rate,
        cast(documents.sign as integer) as sign,
        cast(documents.total_doc as decimal(38, 9)) as total_doc,
        cast(documents.total_base as decimal(38, 9)) as total_base,
        cast(documents.outstanding_amount as decimal(38, 9)) as outstanding_amount,
        cast(documents.base_currency_outstanding_amount as decimal(38, 9)) as base_currency_outstanding_amount,
        documents.status_id,
        documents.transaction_id,
        documents.contact_payment_id,
        cast(coalesce(allocation_summary.allocated_doc, 0) as decimal(38, 9)) as allocated_doc,
        cast(coalesce(allocation_summary.allocation_count, 0) as integer) as allocation_count,
        allocation_summary.last_allocation_date,
        case
            when documents.total_doc - coalesce(allocation_summary.allocated_doc, 0) = 0
                then coalesce(allocation_summary.last_allocation_date, documents.document_date)
        end as settled_date
    from documents
    left join allocation_summary
        on documents.business_id = allocation_summary.business_id
        and documents.artefact_type = allocation_summary.artefact_type
        and documents.document_id = allocation_summary.artefact_id
)

select * from final
{%- endmacro %}


{#- R5 for one ledger: at every as-of date, open items in base currency (`open_items_model`) equal the
    balance of the account(s) with role `account_role` (int_ledger_account_roles), `sign` × (debit −
    credit); within one cent per pro-rated item. One row per business and date that does not tie. -#}
{% macro control_account_tie(open_items_model, account_role, sign) -%}
with

as_of_dates as (
    select * from {{ receivables_as_of_dates() }} as dates
),

open_items as (
    select
        business_id,
        as_of_date,
        sum(outstanding_base) as open_items_base,
        sum(case when is_outstanding_base_prorated then 1 else 0 end) as prorated_items
    from {{ ref(open_items_model) }}
    group by business_id, as_of_date
),

control_accounts as (
    select business_id, ledger_account_id
    from {{ ref('int_ledger_account_roles') }}
    where account_role = '{{ account_role }}'
),

control_entries as (
    select
        entries.business_id,
        entries.entry_date,
        entries.net_amount
    from {{ ref('int_ledger_entries_signed') }} as entries
    inner join control_accounts
        on entries.business_id = control_accounts.business_id
        and entries.ledger_account_id = control_accounts.ledger_account_id
),

control_balances as (
    select
        as_of_dates.business_id,
        as_of_dates.as_of_date,
        {{ sign }} * sum(control_entries.net_amount) as control_balance
    from as_of_dates
    inner join control_entries
        on as_of_dates.business_id = control_entries.business_id
        and control_entries.entry_date <= as_of_dates.as_of_date
    group by as_of_dates.business_id, as_of_dates.as_of_date
),

compared as (
    select
        as_of_dates.business_id,
        as_of_dates.as_of_date,
        coalesce(open_items.open_items_base, 0) as open_items_base,
        coalesce(control_balances.control_balance, 0) as control_balance,
        coalesce(open_items.open_items_base, 0) - coalesce(control_balances.control_balance, 0) as difference,
        coalesce(open_items.prorated_items, 0) * {{ var('reconciliation_tolerance') }} as allowed_difference
    from as_of_dates
    left join open_items
        on as_of_dates.business_id = open_items.business_id
        and as_of_dates.as_of_date = open_items.as_of_date
    left join control_balances
        on as_of_dates.business_id = control_balances.business_id
        and as_of_dates.as_of_date = control_balances.as_of_date
)

select * from compared
where abs(difference) > allowed_difference
{%- endmacro %}
