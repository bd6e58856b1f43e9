-- One row per payment on account (POA) and contact allocation that cleared it, for the businesses whose
-- contact allocations could not be read (int_sage_resources_loaded; /contact_allocations needs a Full
-- Access Sage user). A POA has no payments_allocations list of its own: what a contact allocation took
-- off it is only listed on the contact allocation, so without them it is rebuilt from what was read.
--
-- The documents still name every contact allocation that cleared them (payments_allocations, with its
-- date). An allocation sets debits against credits of one contact, so what it cleared on invoices less
-- what it cleared on credit notes is what it cleared on payments on account. That amount is given to the
-- contact's POAs that Sage shows cleared by more than the read lists explain (total − outstanding_amount −
-- refunds listed on contact payments), oldest POA first, oldest allocation first. Exact when the contact
-- has one such POA; with several, each gets what Sage says it lost, only the dates of the pieces can be
-- off. Amounts in document currency, positive = less outstanding, as int_artefact_allocation_lines.
with

lines as (
    select * from {{ ref('int_artefact_allocation_lines') }}
),

lists_read as (
    select business_id from {{ ref('int_sage_resources_loaded') }}
    where sage_table = 'contact_allocations'
),

-- What each unread contact allocation cleared on payments on account (invoices less credit notes).
unread_allocations as (
    select
        lines.business_id,
        lines.ledger,
        max(lines.contact_id) as contact_id,
        lines.contact_allocation_id,
        min(lines.allocation_date) as allocation_date,
        sum(lines.amount * lines.natural_sign) as on_account_amount
    from lines
    left join lists_read
        on lines.business_id = lists_read.business_id
    where lists_read.business_id is null
        and lines.allocation_source = 'payments_allocations'
        and lines.contact_allocation_id is not null
        and lines.artefact_type <> 'payment_on_account'
        and not lines.is_artefact_deleted
    group by lines.business_id, lines.ledger, lines.contact_allocation_id
    having sum(lines.amount * lines.natural_sign) > 0
),

payments_on_account as (
    select
        payments.business_id,
        case when payments.transaction_type_id like 'VENDOR%' then 'AP' else 'AR' end as ledger,
        coalesce(payments.payment_on_account_contact_id, payments.contact_id) as contact_id,
        payments.payment_on_account_id as artefact_id,
        coalesce(payments.payment_on_account_date, payments.date) as payment_on_account_date,
        coalesce(payments.payment_on_account_total_amount, 0)
            - coalesce(payments.payment_on_account_outstanding_amount, 0) as cleared_amount
    from {{ ref('stg_sage__contact_payments') }} as payments
    left join lists_read
        on payments.business_id = lists_read.business_id
    where lists_read.business_id is null
        and payments.payment_on_account_id is not null
        and not payments.is_deleted
),

listed_on_payments as (
    select
        business_id,
        artefact_id,
        sum(amount + discount) as listed_amount
    from lines
    where artefact_type = 'payment_on_account'
        and allocation_source = 'contact_payment'
    group by business_id, artefact_id
),

-- Each POA's unexplained clearing as an interval on its contact's running total, and each unread
-- allocation's as one on the same contact's: the overlaps are the pieces.
on_account_intervals as (
    select
        *,
        sum(unexplained) over (
            partition by business_id, ledger, contact_id
            order by payment_on_account_date, artefact_id
            rows between unbounded preceding and current row
        ) as upper_bound
    from (
        select
            payments_on_account.*,
            payments_on_account.cleared_amount - coalesce(listed_on_payments.listed_amount, 0) as unexplained
        from payments_on_account
        left join listed_on_payments
            on payments_on_account.business_id = listed_on_payments.business_id
            and payments_on_account.artefact_id = listed_on_payments.artefact_id
    ) as explained
    where unexplained > 0
),

allocation_intervals as (
    select
        *,
        sum(on_account_amount) over (
            partition by business_id, ledger, contact_id
            order by allocation_date, contact_allocation_id
            rows between unbounded preceding and current row
        ) as upper_bound
    from unread_allocations
),

pieces as (
    select
        allocation_intervals.business_id,
        allocation_intervals.ledger,
        allocation_intervals.contact_allocation_id,
        allocation_intervals.allocation_date,
        on_account_intervals.artefact_id,
        least(on_account_intervals.upper_bound, allocation_intervals.upper_bound)
            - greatest(
                on_account_intervals.upper_bound - on_account_intervals.unexplained,
                allocation_intervals.upper_bound - allocation_intervals.on_account_amount
            ) as amount
    from allocation_intervals
    inner join on_account_intervals
        on allocation_intervals.business_id = on_account_intervals.business_id
        and allocation_intervals.ledger = on_account_intervals.ledger
        and allocation_intervals.contact_id = on_account_intervals.contact_id
        and on_account_intervals.upper_bound - on_account_intervals.unexplained < allocation_intervals.upper_bound
        and allocation_intervals.upper_bound - allocation_intervals.on_account_amount < on_account_intervals.upper_bound
),

final as (
    select
        business_id,
        'contact_allocation_inferred' as allocation_source,
        contact_allocation_id as source_id,
        cast(row_number() over (partition by business_id, contact_allocation_id order by artefact_id) - 1 as integer)
            as line_index,
        ledger,
        'payment_on_account' as artefact_type,
        artefact_id,
        allocation_date,
        case ledger when 'AR' then 'CUSTOMER_ALLOCATION' else 'VENDOR_ALLOCATION' end as allocation_type,
        cast(null as varchar) as contact_payment_id,
        contact_allocation_id,
        cast(null as varchar) as reference,
        cast(amount as decimal(38, 9)) as amount,
        cast(0 as decimal(38, 9)) as discount
    from pieces
)

select * from final
