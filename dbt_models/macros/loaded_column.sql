{#- The name the load gave a source column on this warehouse.

    dlt shortens a column name longer than the warehouse allows (PostgreSQL: 63 characters) with a
    hash in the middle; scripts/generate_dbt_staging.py asks dlt's own naming code for that name and
    records it per adapter in models/staging/_sage__sources.yml (`config.meta.loaded_as`). Elsewhere,
    and while dbt only parses (the graph is empty then), the name is the column's own. -#}
{% macro loaded_column(table, column) -%}
    {%- set loaded_as = {} -%}
    {%- if execute -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'sage')
            | selectattr('name', 'equalto', table) | first -%}
        {%- set declared = node.columns.get(column, {}) -%}
        {%- set loaded_as = declared.get('config', {}).get('meta', {}).get('loaded_as')
            or declared.get('meta', {}).get('loaded_as') or {} -%}
    {%- endif -%}
    {{- loaded_as.get(target.type, column) -}}
{%- endmacro %}
