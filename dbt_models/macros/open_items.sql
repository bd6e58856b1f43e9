{#- The two pieces the receivables (AR) and payables (AP) open-item models, their aging reports and the
    control-account reconciliations share word for word. The queries themselves are in the models
    (fct_ar_open_items, rpt_ar_aging and their AP mirrors). SQL that DuckDB and PostgreSQL both accept. -#}

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
