{#- A loaded table, as `source('sage', table)`; or, when the load has not created it yet, an empty
    relation with the same columns and types (declared in models/staging/_sage__sources.yml).

    dlt creates a table when its first row arrives, so a business with no credit notes yet, or a
    first run limited to some resources, has no `sales_credit_notes` table; the marts must still
    build (with nothing in them from that table) rather than fail on a missing relation. -#}
{% macro sage_source(table) -%}
    {%- set relation = source('sage', table) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', 'sage')
            | selectattr('name', 'equalto', table) | first -%}
        (
            select
            {%- for column in node.columns.values() %}
                cast(null as {{ column.data_type }}) as {{ adapter.quote(loaded_column(table, column.name)) }}{{ "," if not loop.last }}
            {%- endfor %}
            where 1 = 0
        ) as {{ adapter.quote(table) }}
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
