{#- What the open-item models (fct_open_items and rpt_aging, receivables and payables together), their
    AR and AP sides and the control-account reconciliations share. The queries themselves are in the
    models. SQL that DuckDB and PostgreSQL both accept. -#}

{#- The dates open items and aging are reconstructed at, as a subquery (business_id, as_of_date):
    every month-end from the month of the business's accounts_start_date up to as_of_date(), plus
    as_of_date() itself (a union, so an as_of_date() that is a month-end appears once). -#}
{% macro open_item_as_of_dates() -%}
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

{#- One side of a model that holds receivables and payables together (int_open_item_documents,
    fct_open_items, rpt_aging): its rows of that ledger_side, with every column but ledger_side. The AR
    and AP models (int_ar_documents, fct_ap_open_items, ...) are this, so the SQL has one place.
    The columns are read from the built relation (dbt builds it first: it is the model's parent), in
    its order; while dbt only parses (execute false) nothing is run, so any text will do. -#}
{% macro ledger_side_rows(model_name, ledger_side) -%}
    {%- set relation = ref(model_name) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) if execute else [] -%}
    select
    {%- for column in columns if column.name | lower != 'ledger_side' %}
        {{ adapter.quote(column.name) }}{{ "," if not loop.last }}
    {%- else %}
        *
    {%- endfor %}
    from {{ relation }}
    where ledger_side = '{{ ledger_side }}'
{%- endmacro %}
