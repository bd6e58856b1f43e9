-- One row per ledger account: the role it plays in the books (seeds/sage_account_role_types.csv) —
-- debtors or creditors control, sales / purchase tax, tax liability, retained earnings, bank — or none.
--
-- Roles are read from what Sage documents, not from `control_name` spellings (Sage only documents that
-- the field exists; a Sage-compatible server, or Sage itself, may spell them otherwise or leave them null):
--   * bank: the ledger account of a bank account (bank_accounts.ledger_account);
--   * debtors / creditors control: the account a posted sales (purchase) document's transaction posts its
--     gross to on the customer's (supplier's) side — debit for a sales invoice, credit for a purchase
--     invoice — that is not one of the document's own line accounts (those are the sales / purchase side);
--   * sales / purchase tax: the accounts beside those that take the other side of the document's tax;
--     an account that takes the tax of both sales and purchases is the tax liability;
--   * tax liability: also the liability account that postings outside documents (tax returns) clear the
--     sales and purchase tax accounts into;
--   * retained earnings: the one EQUITY-type account Sage marks is_control_account.
-- An account takes a document role when it carried that side of at least 1 in 20 as many documents as the
-- best candidate of the business, so one odd document cannot give an account a role.
--
-- Then, in this order: a row of seeds/sage_account_roles.csv pins a role to an account of a business (by
-- ledger_account_id or nominal_code; role `none` takes every role away from the account) and the role is
-- then held by the pinned accounts only; structure; and last `control_name` through
-- seeds/sage_control_accounts.csv, a hint used only for a role structure found no account for in the
-- business. An account holding several roles keeps the one of highest priority (the role types seed).
-- int_ledger_account_role_checks says, per business, which roles the marts need and could not find.
--
-- A table: int_ledger_accounts_classified, the reconciliations and the checks read it, and it reads the
-- whole ledger once.
{{ config(materialized='table') }}
{%- set documents = [
    ('sales', 'stg_sage__sales_invoices', 'sales_invoice_id', '1'),
    ('sales', 'stg_sage__sales_credit_notes', 'sales_credit_note_id', '-1'),
    ('sales', 'stg_sage__sales_quick_entries', 'sales_quick_entry_id',
        "case when quick_entry_type_id = 'CREDIT_NOTE' then -1 else 1 end"),
    ('purchase', 'stg_sage__purchase_invoices', 'purchase_invoice_id', '-1'),
    ('purchase', 'stg_sage__purchase_credit_notes', 'purchase_credit_note_id', '1'),
    ('purchase', 'stg_sage__purchase_quick_entries', 'purchase_quick_entry_id',
        "case when quick_entry_type_id = 'CREDIT_NOTE' then 1 else -1 end"),
] %}
{%- set document_lines = [
    ('stg_sage__sales_invoices_invoice_lines', 'sales_invoice_id'),
    ('stg_sage__sales_credit_notes_credit_note_lines', 'sales_credit_note_id'),
    ('stg_sage__sales_quick_entries', 'sales_quick_entry_id'),
    ('stg_sage__purchase_invoices_invoice_lines', 'purchase_invoice_id'),
    ('stg_sage__purchase_credit_notes_credit_note_lines', 'purchase_credit_note_id'),
    ('stg_sage__purchase_quick_entries', 'purchase_quick_entry_id'),
] %}
{%- set tolerance = var('reconciliation_tolerance') %}

with

role_types as (
    select * from {{ ref('sage_account_role_types') }}
),

accounts as (
    select
        accounts.business_id,
        accounts.ledger_account_id,
        accounts.nominal_code,
        accounts.control_name,
        coalesce(accounts.is_control_account, false) as is_control_account,
        types.account_class,
        accounts.is_deleted
    from {{ ref('stg_sage__ledger_accounts') }} as accounts
    left join {{ ref('sage_ledger_account_types') }} as types
        on accounts.ledger_account_type_id = types.ledger_account_type_id
),

banks as (
    select distinct
        business_id,
        ledger_account_id
    from {{ ref('stg_sage__bank_accounts') }}
    where not is_deleted
        and ledger_account_id is not null
),

-- Transactions not deleted: only their entries are posted.
live_transactions as (
    select
        business_id,
        transaction_id
    from {{ ref('stg_sage__transactions') }}
    where not is_deleted
),

-- Entries not deleted, debit − credit in base currency. Each use below keeps only the entries of live
-- transactions, checked on the transactions it reads (documents', tax clearings'), not here on all 8 M
-- entries. Not materialized: three CTEs read it, so DuckDB would otherwise hold every entry in memory,
-- and at 1 M invoices this model then spilled 1 GB to disk (9-10 s; 6.5 s streamed from the table).
undeleted_entries as not materialized (
    select
        business_id,
        transaction_id,
        ledger_account_id,
        coalesce(debit, 0) - coalesce(credit, 0) as net_amount
    from {{ ref('stg_sage__ledger_entries') }}
    where not is_deleted
),

-- Posted sales and purchase documents; contact_sign is the sign of the gross on the contact's side
-- (debit positive): +1 a sales invoice, −1 a sales credit note, −1 a purchase invoice, +1 a purchase
-- credit note. The tax and the lines are on the other side.
posted_documents as (
    {%- for side, model, id_column, contact_sign in documents %}
    select
        business_id,
        '{{ side }}' as ledger_side,
        {{ id_column }} as document_id,
        transaction_id,
        {{ contact_sign }} as contact_sign,
        coalesce(base_currency_total_amount, 0) as gross_base,
        coalesce(base_currency_tax_amount, 0) as tax_base
    from {{ ref(model) }}
    where is_posted
        and transaction_id is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

-- Those whose transaction is live.
documents as (
    select posted_documents.*
    from posted_documents
    where exists (
        select 1 from live_transactions
        where live_transactions.business_id = posted_documents.business_id
            and live_transactions.transaction_id = posted_documents.transaction_id
    )
),

-- The ledger accounts of each document's lines (a quick entry's own ledger account): the sales or
-- purchase side, never the contact or tax side.
line_accounts as (
    {%- for model, id_column in document_lines %}
    select distinct
        business_id,
        {{ id_column }} as document_id,
        ledger_account_id
    from {{ ref(model) }}
    where ledger_account_id is not null
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}
),

-- Per document and account other than its lines', what its transaction's entries net to. The line
-- accounts' entries are dropped before the sum: they are most of the ledger, and summing all 8 M
-- entries per (transaction, account) first was this model's costliest step at 1 M invoices. Grouped by
-- the key alone: the document's own columns are the same on each of its rows, so max() of them is
-- them; hashing three columns instead of seven holds less (at 1 M, 70-90 MB spilled instead of
-- 120-190 MB, and 0-0.5 s less).
document_legs as (
    select
        documents.business_id,
        max(documents.ledger_side) as ledger_side,
        documents.document_id,
        max(documents.contact_sign) as contact_sign,
        max(documents.gross_base) as gross_base,
        max(documents.tax_base) as tax_base,
        undeleted_entries.ledger_account_id,
        sum(undeleted_entries.net_amount) as net_amount
    from documents
    inner join undeleted_entries
        on documents.business_id = undeleted_entries.business_id
        and documents.transaction_id = undeleted_entries.transaction_id
    left join line_accounts
        on documents.business_id = line_accounts.business_id
        and documents.document_id = line_accounts.document_id
        and undeleted_entries.ledger_account_id = line_accounts.ledger_account_id
    where line_accounts.ledger_account_id is null
    group by documents.business_id, documents.document_id, undeleted_entries.ledger_account_id
),

contact_legs as (
    select
        business_id,
        ledger_side,
        document_id,
        ledger_account_id
    from document_legs
    where gross_base <> 0
        and abs(net_amount - contact_sign * gross_base) <= {{ tolerance }}
),

-- Beside the contact side, on the other side: the tax, and carriage (which has no line). A document
-- names its tax accounts when these legs together are its tax, or one of them alone is.
tax_candidate_legs as (
    select
        document_legs.*,
        sum(document_legs.net_amount) over (
            partition by document_legs.business_id, document_legs.document_id
        ) as candidates_net
    from document_legs
    left join contact_legs
        on document_legs.business_id = contact_legs.business_id
        and document_legs.document_id = contact_legs.document_id
        and document_legs.ledger_account_id = contact_legs.ledger_account_id
    where contact_legs.ledger_account_id is null
        and document_legs.tax_base <> 0
        and document_legs.net_amount * document_legs.contact_sign < 0
),

tax_legs as (
    select
        business_id,
        ledger_side,
        document_id,
        ledger_account_id
    from tax_candidate_legs
    where abs(candidates_net + contact_sign * tax_base) <= {{ tolerance }}
        or abs(net_amount + contact_sign * tax_base) <= {{ tolerance }}
),

document_evidence as (
    select
        business_id,
        case ledger_side when 'sales' then 'debtors_control' else 'creditors_control' end as account_role,
        ledger_account_id,
        count(distinct document_id) as evidence
    from contact_legs
    group by business_id, ledger_side, ledger_account_id
    union all
    select
        business_id,
        case ledger_side when 'sales' then 'sales_tax' else 'purchase_tax' end as account_role,
        ledger_account_id,
        count(distinct document_id) as evidence
    from tax_legs
    group by business_id, ledger_side, ledger_account_id
),

document_roles as (
    select
        business_id,
        account_role,
        ledger_account_id,
        evidence
    from (
        select
            document_evidence.*,
            max(evidence) over (partition by business_id, account_role) as best_evidence
        from document_evidence
    ) as ranked
    where evidence * 20 >= best_evidence
),

-- An account that takes the tax of sales and of purchases is the tax liability.
tax_accounts as (
    select
        business_id,
        ledger_account_id,
        case
            when count(distinct account_role) > 1 then 'tax_liability'
            else max(account_role)
        end as account_role,
        sum(evidence) as evidence
    from document_roles
    where account_role in ('sales_tax', 'purchase_tax')
    group by business_id, ledger_account_id
),

control_accounts as (
    select business_id, ledger_account_id from document_roles
    where account_role in ('debtors_control', 'creditors_control')
    union
    select business_id, ledger_account_id from tax_accounts
    union
    select business_id, ledger_account_id from banks
),

document_transactions as (
    select distinct business_id, transaction_id from documents
),

-- Outside sales and purchase documents (tax returns, tax journals), the liability account on the other
-- side of a posting to a tax account is where the tax is cleared to. Only those transactions' entries
-- are summed per account (a few, against every entry of the ledger).
tax_clearing_transactions as (
    select distinct
        undeleted_entries.business_id,
        undeleted_entries.transaction_id,
        undeleted_entries.ledger_account_id as tax_account_id
    from undeleted_entries
    inner join tax_accounts
        on undeleted_entries.business_id = tax_accounts.business_id
        and undeleted_entries.ledger_account_id = tax_accounts.ledger_account_id
    left join document_transactions
        on undeleted_entries.business_id = document_transactions.business_id
        and undeleted_entries.transaction_id = document_transactions.transaction_id
    where document_transactions.transaction_id is null
        and exists (
            select 1 from live_transactions
            where live_transactions.business_id = undeleted_entries.business_id
                and live_transactions.transaction_id = undeleted_entries.transaction_id
        )
),

clearing_postings as (
    select
        undeleted_entries.business_id,
        undeleted_entries.transaction_id,
        undeleted_entries.ledger_account_id,
        sum(undeleted_entries.net_amount) as net_amount
    from undeleted_entries
    where exists (
        select 1 from tax_clearing_transactions
        where tax_clearing_transactions.business_id = undeleted_entries.business_id
            and tax_clearing_transactions.transaction_id = undeleted_entries.transaction_id
    )
    group by undeleted_entries.business_id, undeleted_entries.transaction_id, undeleted_entries.ledger_account_id
),

tax_clearing_evidence as (
    select
        other_legs.business_id,
        other_legs.ledger_account_id,
        count(distinct other_legs.transaction_id) as evidence
    from tax_clearing_transactions as tax_postings
    inner join clearing_postings as other_legs
        on tax_postings.business_id = other_legs.business_id
        and tax_postings.transaction_id = other_legs.transaction_id
    inner join accounts
        on other_legs.business_id = accounts.business_id
        and other_legs.ledger_account_id = accounts.ledger_account_id
    left join control_accounts
        on other_legs.business_id = control_accounts.business_id
        and other_legs.ledger_account_id = control_accounts.ledger_account_id
    where control_accounts.ledger_account_id is null
        and accounts.account_class = 'liability'
        and other_legs.net_amount <> 0
    group by other_legs.business_id, other_legs.ledger_account_id
),

tax_clearing_accounts as (
    select
        business_id,
        ledger_account_id,
        evidence
    from (
        select
            tax_clearing_evidence.*,
            max(evidence) over (partition by business_id) as best_evidence
        from tax_clearing_evidence
    ) as ranked
    where evidence * 20 >= best_evidence
),

retained_earnings_candidates as (
    select
        business_id,
        ledger_account_id,
        count(*) over (partition by business_id) as candidates
    from accounts
    where account_class = 'equity'
        and is_control_account
        and not is_deleted
),

structure_roles as (
    select business_id, ledger_account_id, 'bank' as account_role, cast(null as bigint) as evidence
    from banks
    union all
    select business_id, ledger_account_id, account_role, cast(evidence as bigint)
    from document_roles
    where account_role in ('debtors_control', 'creditors_control')
    union all
    select business_id, ledger_account_id, account_role, cast(evidence as bigint)
    from tax_accounts
    union all
    select business_id, ledger_account_id, 'tax_liability', cast(evidence as bigint)
    from tax_clearing_accounts
    union all
    select business_id, ledger_account_id, 'retained_earnings', cast(null as bigint)
    from retained_earnings_candidates
    where candidates = 1
),

pins as (
    select
        accounts.business_id,
        accounts.ledger_account_id,
        nullif(lower(trim(pins.account_role)), 'none') as account_role
    from {{ ref('sage_account_roles') }} as pins
    inner join accounts
        on accounts.business_id = pins.business_id
        and (
            accounts.ledger_account_id = pins.ledger_account_id
            or (pins.ledger_account_id is null and cast(accounts.nominal_code as varchar) = pins.nominal_code)
        )
),

hints as (
    select
        accounts.business_id,
        accounts.ledger_account_id,
        controls.account_role
    from accounts
    inner join {{ ref('sage_control_accounts') }} as controls
        on upper(accounts.control_name) = upper(controls.control_name)
    where controls.account_role is not null
),

candidates as (
    select business_id, ledger_account_id, account_role, 'pinned' as role_source, 1 as source_rank,
        cast(null as bigint) as evidence
    from pins
    union all
    select business_id, ledger_account_id, account_role, 'structure', 2, evidence
    from structure_roles
    union all
    select business_id, ledger_account_id, account_role, 'control_name', 3, cast(null as bigint)
    from hints
),

pinned_roles as (
    select distinct business_id, account_role from pins where account_role is not null
),

pinned_accounts as (
    select distinct business_id, ledger_account_id from pins
),

found_roles as (
    select distinct business_id, account_role from structure_roles
),

kept as (
    select candidates.*
    from candidates
    left join pinned_roles
        on candidates.business_id = pinned_roles.business_id
        and candidates.account_role = pinned_roles.account_role
    left join pinned_accounts
        on candidates.business_id = pinned_accounts.business_id
        and candidates.ledger_account_id = pinned_accounts.ledger_account_id
    left join found_roles
        on candidates.business_id = found_roles.business_id
        and candidates.account_role = found_roles.account_role
    where candidates.role_source = 'pinned'
        or (
            pinned_roles.account_role is null
            and pinned_accounts.ledger_account_id is null
            and (candidates.role_source = 'structure' or found_roles.account_role is null)
        )
),

ranked as (
    select
        kept.business_id,
        kept.ledger_account_id,
        kept.account_role,
        kept.role_source,
        kept.evidence,
        row_number() over (
            partition by kept.business_id, kept.ledger_account_id
            order by kept.source_rank, role_types.priority
        ) as role_rank
    from kept
    inner join role_types
        on kept.account_role = role_types.account_role
),

final as (
    select
        accounts.business_id,
        accounts.ledger_account_id,
        accounts.nominal_code,
        accounts.control_name,
        accounts.is_control_account,
        ranked.account_role,
        ranked.role_source,
        ranked.evidence as role_evidence
    from accounts
    left join ranked
        on accounts.business_id = ranked.business_id
        and accounts.ledger_account_id = ranked.ledger_account_id
        and ranked.role_rank = 1
)

select * from final
