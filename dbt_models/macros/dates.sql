{#- Date helpers, built on dbt's cross-database macros (dbt.date_trunc, dbt.last_day, dbt.dateadd) so
    that each adapter compiles them to its own dialect. Verified on DuckDB and PostgreSQL. -#}

{#- "Today" for open items, aging, cash position and the forecast: the `as_of_date` var when given,
    otherwise the UTC date the books were last read (the latest `_sage_synced_at` of
    financial_settings, which every run refreshes). Using the load's date, not the machine's clock,
    makes the marts describe the books as loaded and keeps rebuilds reproducible. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select cast(max(_sage_synced_at) at time zone 'UTC' as date) from {{ source('sage', 'financial_settings') }})
    {%- endif -%}
{%- endmacro %}

{#- One row per day / week / month from `start` to `stop` inclusive, as a subquery with column `date_day`.

    dbt has no cross-database series between two run-time dates (dbt.date_spine needs its bounds at
    compile time), so this dispatches: the default is generate_series, which DuckDB and PostgreSQL
    share; a warehouse without it (Snowflake, BigQuery, Redshift) needs its own `<adapter>__date_series`. -#}
{% macro date_series(start, stop, step='day') -%}
    {{ return(adapter.dispatch('date_series')(start, stop, step)) }}
{%- endmacro %}

{% macro default__date_series(start, stop, step) -%}
    (
        select cast(series.d as date) as date_day
        from generate_series(cast({{ start }} as timestamp), cast({{ stop }} as timestamp), interval '1 {{ step }}') as series(d)
    )
{%- endmacro %}

{% macro month_end(d) -%}
    cast({{ dbt.last_day(d, 'month') }} as date)
{%- endmacro %}

{% macro month_start(d) -%}
    cast({{ dbt.date_trunc('month', d) }} as date)
{%- endmacro %}

{#- The last day of the fiscal year `d` falls in, for a business whose `year_end_date` is `year_end`.
    A fiscal year ends on the last day of the year-end month, so a 29 February year end is
    28 February in other years: the end of the month 0 to 11 months on from `d`'s that is the
    year-end month. -#}
{% macro fiscal_year_end(d, year_end) -%}
    {%- set months_ahead = "mod(cast(extract(month from " ~ year_end ~ ") - extract(month from " ~ d ~ ") + 12 as integer), 12)" -%}
    {{ month_end(dbt.dateadd('month', months_ahead, month_start(d))) }}
{%- endmacro %}
