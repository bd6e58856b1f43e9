{#- Generic tests of our own: dbt_utils cannot be installed offline (dbt deps needs hub.getdbt.com). -#}

{#- Rows where `expression` is false. -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}

{#- Groups of `combination_of_columns` that occur more than once. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ duplicate_keys(model, combination_of_columns, with_nulls=false) }}
{% endtest %}

{#- Keys held twice, or with a column null: unique and not_null on `columns` in one query. -#}
{% test primary_key(model, columns) %}
    {{ duplicate_keys(model, columns, with_nulls=true) }}
{% endtest %}

{#- The key tests' query: each group of `columns` held more than once (and, `with_nulls`, each key with
    a null column), with its row count `n`. -#}
{% macro duplicate_keys(model, columns, with_nulls) -%}
    {{ return(adapter.dispatch('duplicate_keys')(model, columns, with_nulls)) }}
{%- endmacro %}

{% macro default__duplicate_keys(model, columns, with_nulls) -%}
    {%- set key = columns | join(', ') %}
    select {{ key }}, count(*) as n
    from {{ model }}
    group by {{ key }}
    having count(*) > 1
    {%- if with_nulls %}
        or max(case when {{ columns | join(' is null or ') }} is null then 1 else 0 end) = 1
    {%- endif %}
{%- endmacro %}

{#- DuckDB: the same rows, found in two steps. Grouping millions of rows by one 64-bit hash of the key is
    about twice as fast as grouping them by the key's strings (the general ledger's 8 M keys at 1 M
    invoices: 0.8 s against 1.7 s). Only the rows whose key's hash occurs twice (true duplicates, or a
    collision) and those with a null key column are then grouped by their columns, as everywhere else,
    so the answer is exact. -#}
{% macro duckdb__duplicate_keys(model, columns, with_nulls) -%}
    {%- set key = columns | join(', ') -%}
    {%- set suspect_rows -%}
        (
            select * from {{ model }}
            where hash({{ key }}) in (
                select hash({{ key }}) from {{ model }} group by 1 having count(*) > 1
            )
            {%- if with_nulls %}
                or {{ columns | join(' is null or ') }} is null
            {%- endif %}
        ) as suspect_rows
    {%- endset -%}
    {{ default__duplicate_keys(suspect_rows, columns, with_nulls) }}
{%- endmacro %}

{#- Rows where `column_name` falls outside [min_value, max_value] (either bound optional). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
    select * from {{ model }}
    where {{ column_name }} is not null and (
        false
        {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
    )
{% endtest %}
