{#- Date helpers that compile to SQL both DuckDB and PostgreSQL accept. -#}

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

{#- One row per day / week / month from `start` to `stop` inclusive, as a subquery with column `date_day`. -#}
{% macro date_series(start, stop, step='day') -%}
    (
        select cast(series.d as date) as date_day
        from generate_series(cast({{ start }} as timestamp), cast({{ stop }} as timestamp), interval '1 {{ step }}') as series(d)
    )
{%- endmacro %}

{% macro month_end(d) -%}
    cast(date_trunc('month', {{ d }}) + interval '1 month' - interval '1 day' as date)
{%- endmacro %}

{% macro month_start(d) -%}
    cast(date_trunc('month', {{ d }}) as date)
{%- endmacro %}

{#- The last day of the fiscal year `d` falls in, for a business whose `year_end_date` is `year_end`.
    A fiscal year ends on the last day of the year-end month, so a 29 February year end is
    28 February in other years. -#}
{% macro fiscal_year_end(d, year_end) -%}
    {%- set month_index = "(extract(year from " ~ d ~ ") * 12 + extract(month from " ~ d ~ ") - 1)" -%}
    {%- set end_index = "(" ~ month_index ~ " + cast(mod(cast(extract(month from " ~ year_end ~ ") - 1 - mod(cast(" ~ month_index ~ " as integer), 12) + 12 as integer), 12) as integer))" -%}
    {{ month_end("make_date(cast(floor(" ~ end_index ~ " / 12.0) as integer), cast(mod(cast(" ~ end_index ~ " as integer), 12) + 1 as integer), 1)") }}
{%- endmacro %}
