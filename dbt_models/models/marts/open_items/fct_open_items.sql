-- One row per open document of either side (ledger_side receivable: what customers owe us; payable:
-- what we owe suppliers) at each as-of date: every month-end from the business's accounts_start_date,
-- plus as_of_date() (is_latest). A document is open at D when it is dated on or before D and its total
-- less the allocations (amount + discount) dated on or before D is not zero; an invoice paid after D is
-- still wholly open at D. Amounts are signed on both sides: invoices positive, credit notes and
-- payments on account negative. outstanding_doc is in the document's currency; outstanding_base is at
-- the book (document) rate, exactly Sage's base_currency_outstanding_amount when nothing has moved on
-- the document since D (always at the latest date), else rebuilt in proportion.
-- days_past_due = as_of_date − due_date (credit notes and payments on account: − their own date);
-- aging_bucket: ≤ 0 current, 1-30, 31-60, 61-90, 90+ (91 days and more).
-- fct_ar_open_items and fct_ap_open_items are this model's two sides.
--
-- Incremental by as-of date (macros/incremental_periods.sql says why and how). The inputs' fingerprints
-- are kept per (business, month): documents by the month of their date (a document's row carries its
-- allocation summary, so a payment of an old invoice changes the invoice's month), allocations by the
-- month of their date. A document or allocation dated in month M only counts at as-of dates on or after
-- M, so a business's as-of dates from its earliest changed month on are rebuilt, and the closed
-- month-ends before it are kept. as_of_date() moves with every load: the latest as-of date is always
-- rebuilt, and the rows of the last build's latest date (is_latest) and of dates no longer reported are
-- deleted. A change of accounts_start_date (which month-ends exist) rebuilds the whole business.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_changed_rows('exists (select 1 from ' ~ state_relation('changed_as_of_dates') ~ ' as changed where changed.business_id = target.business_id and changed.as_of_date = target.as_of_date)') }}",
    post_hook="{{ keep_fingerprints() }}",
) }}
{%- set fingerprint_sql %}
    with documents as (
        select * from {{ ref('int_open_item_documents') }}
    ),

    allocations as (
        select business_id, artefact_type, artefact_id, allocation_date, amount + discount as cleared_doc
        from {{ ref('int_artefact_allocations_unioned') }}
    ),

    settings as (
        select business_id, accounts_start_date from {{ ref('stg_sage__financial_settings') }}
    ),

    period_rows as (
        select business_id, {{ month_start('document_date') }} as period, {{ row_hash('documents') }} as row_hash
        from documents
        union all
        select business_id, {{ month_start('allocation_date') }}, {{ row_hash('allocations') }}
        from allocations
    )

    select business_id, period, count(*) as row_count, sum(row_hash) as row_hash
    from period_rows
    group by 1, 2
    union all
    select business_id, {{ dimension_period() }}, count(*), sum({{ row_hash('settings') }})
    from settings
    group by 1
{%- endset %}
{%- do incremental_fingerprints(fingerprint_sql) %}
{%- if execute and is_incremental() and model.resource_type != 'unit_test' %}
    {%- set changed_as_of_dates = state_relation('changed_as_of_dates') %}
    {%- do adapter.drop_relation(changed_as_of_dates) %}
    {%- set changed_as_of_dates_sql %}
        with as_of_dates as (
            select * from {{ open_item_as_of_dates() }} as dates
        ),

        first_changed as (
            select business_id, min(period) as first_changed_month
            from {{ changed_periods() }}
            group by business_id
        )

        select as_of_dates.business_id, as_of_dates.as_of_date
        from as_of_dates
        left join first_changed
            on as_of_dates.business_id = first_changed.business_id
        where as_of_dates.as_of_date = {{ as_of_date() }}
            or as_of_dates.as_of_date >= first_changed.first_changed_month
        union
        select built.business_id, built.as_of_date
        from {{ this }} as built
        where built.is_latest
            or not exists (
                select 1 from as_of_dates
                where as_of_dates.business_id = built.business_id
                    and as_of_dates.as_of_date = built.as_of_date
            )
    {%- endset %}
    {%- do run_query('create table ' ~ changed_as_of_dates ~ ' as ' ~ changed_as_of_dates_sql) %}
{%- endif %}
with

documents as (
    select * from {{ ref('int_open_item_documents') }}
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
    select * from {{ open_item_as_of_dates() }} as dates
    {%- if is_incremental() %}
    where exists (
        select 1 from {{ state_relation('changed_as_of_dates') }} as changed
        where changed.business_id = dates.business_id
            and changed.as_of_date = dates.as_of_date
    )
    {%- endif %}
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
        document_as_of_dates.ledger_side,
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
        document_as_of_dates.ledger_side,
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
        and document_as_of_dates.ledger_side = allocated_to_date.ledger_side
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
        ledger_side,
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
        cast({{ dbt.datediff('due_date', 'as_of_date', 'day') }} as integer) as days_past_due,
        {{ aging_bucket(dbt.datediff('due_date', 'as_of_date', 'day')) }} as aging_bucket,
        as_of_date = {{ as_of_date() }} as is_latest,
        -- Rebuilt in proportion (not Sage's own figure): may differ by a cent from what Sage had at D
        -- after several part payments, which Sage rounds one at a time.
        settled_base is null as is_outstanding_base_prorated
    from outstanding_base
    where unsigned_outstanding_doc <> 0
)

select * from final
