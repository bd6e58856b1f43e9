{#- The build's on-run-end hook (dbt_project.yml). A failing reconciliation (tests/reconciliation/, tag
    `reconciliation`) is a warning, so dbt still builds every mart downstream of it; its failing rows are
    stored by dbt in schema `audit` (one table per test), and this gathers them, for the tests that ran,
    into one table an analyst, the notebook and `sage-pipeline run` read:

        marts.reconciliation_failures (test_name, business_id, as_of_date, difference, recorded_at, invocation_id)

    Rows of the reconciliations that ran are replaced (a passing one leaves none); rows of reconciliations
    not selected this time are kept, those of reconciliations that no longer exist are removed. It also
    logs one line per failing reconciliation, and the sentence of every missing account role
    (tests/roles/, tag `account_roles`), so a hand-run `dbt build` says what is wrong in words. -#}
{% macro record_reconciliation_failures(results) %}
    {%- if not execute or flags.WHICH not in ('build', 'test', 'retry') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set table = api.Relation.create(
        database=target.database, schema='marts', identifier='reconciliation_failures', type='table'
    ) -%}
    {%- set known = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' and 'reconciliation' in node.tags -%}
        {%- do known.append(node.name) -%}
    {%- endfor -%}
    {%- set ran = [] -%}
    {%- set inserts = [] -%}
    {%- for result in results if result.node.resource_type == 'test' -%}
        {%- set stored = stored_test_failures(result.node) if result.status in ('warn', 'fail') else none -%}
        {%- if 'reconciliation' in result.node.tags -%}
            {%- do ran.append(result.node.name) -%}
            {%- if stored is not none -%}
                {%- do inserts.append(reconciliation_failure_rows(table, result.node.name, stored)) -%}
                {{ log('Reconciliation ' ~ result.node.name ~ ' failed (' ~ result.failures
                    ~ (' row' if result.failures == 1 else ' rows') ~ '): select * from ' ~ table
                    ~ " where test_name = '" ~ result.node.name ~ "'", info=true) }}
            {%- endif -%}
        {%- elif 'account_roles' in result.node.tags and stored is not none -%}
            {%- for row in run_query('select message from ' ~ stored).rows -%}
                {#- A required role (an error) fails sage-pipeline run, which reads this prefix (pipelines/marts.py). -#}
                {{ log(('Account role missing: ' if result.status == 'fail' else 'Account role not found: ') ~ row[0], info=true) }}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do adapter.create_schema(table) -%}  {#- the adapter's own DDL: DuckDB and PostgreSQL alike -#}
    {%- call statement('reconciliation_failures') -%}
        create table if not exists {{ table }} (
            test_name varchar,
            business_id varchar,
            as_of_date date,
            difference decimal(38, 9),
            recorded_at timestamp,
            invocation_id varchar
        );
        delete from {{ table }}
        where test_name not in ('{{ known | join("', '") }}')
        {%- if ran %}
            or test_name in ('{{ ran | join("', '") }}')
        {%- endif %};
        {%- for insert in inserts %}
        {{ insert }};
        {%- endfor %}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{ return('') }}
{% endmacro %}

{#- The relation dbt stored a failing test's rows in (store_failures), none if it stores none. -#}
{% macro stored_test_failures(node) %}
    {%- if not node.config.store_failures -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias, type='table')) }}
{% endmacro %}

{#- An insert of a reconciliation's stored rows in the uniform columns; a column the test does not
    expose is null. -#}
{% macro reconciliation_failure_rows(table, test_name, stored) %}
    {%- set columns = adapter.get_columns_in_relation(stored) | map(attribute='name') | map('lower') | list -%}
    {%- set insert -%}
        insert into {{ table }}
            (test_name, business_id, as_of_date, difference, recorded_at, invocation_id)
        select
            '{{ test_name }}',
            {{ 'cast(business_id as varchar)' if 'business_id' in columns else 'cast(null as varchar)' }},
            {{ 'cast(as_of_date as date)' if 'as_of_date' in columns else 'cast(null as date)' }},
            {{ 'cast(difference as decimal(38, 9))' if 'difference' in columns else 'cast(null as decimal(38, 9))' }},
            cast({{ dbt.current_timestamp() }} as timestamp),
            '{{ invocation_id }}'
        from {{ stored }}
    {%- endset -%}
    {{ return(insert) }}
{% endmacro %}
