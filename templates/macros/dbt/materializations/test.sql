{#- test: runs the test's query inside dbt's wrapper, which counts the failing
    rows (fail_calc) and compares them with warn_if / error_if. With
    store_failures, the failing rows are kept in the audit schema first. -#}
{%- materialization test, default -%}
    {%- set relations = [] -%}
    {%- if should_store_failures() -%}
        {%- set identifier = model['alias'] -%}
        {%- set store_failures_as = config.get('store_failures_as') or 'table' -%}
        {%- set target_relation = api.Relation.create(identifier=identifier, schema=this.schema, database=this.database, type=store_failures_as) -%}
        {%- set old_relation = adapter.get_relation(this.database, this.schema, identifier) -%}
        {%- if old_relation is not none -%}
            {% do adapter.drop_relation(old_relation) %}
        {%- endif -%}
        {% call statement('store_failures') -%}
            {%- if store_failures_as == 'view' -%}
                {{ get_create_view_as_sql(target_relation, sql) }}
            {%- else -%}
                {{ get_create_table_as_sql(false, target_relation, sql) }}
            {%- endif -%}
        {%- endcall %}
        {{ adapter.commit() }}
        {%- do relations.append(target_relation) -%}
        {%- set main_sql -%}
            select * from {{ target_relation }}
        {%- endset -%}
    {%- else -%}
        {%- set main_sql = sql -%}
    {%- endif -%}

    {% call statement('main', fetch_result=true, auto_begin=false) -%}
        {{ get_test_sql(main_sql, config.get('fail_calc'), config.get('warn_if'), config.get('error_if'), config.get('limit')) }}
    {%- endcall %}

    {{ return({'relations': relations}) }}
{%- endmaterialization -%}

{% macro get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {{ adapter.dispatch('get_test_sql', 'dbt')(main_sql, fail_calc, warn_if, error_if, limit) }}
{%- endmacro %}

{% macro default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    select
      {{ fail_calc }} as failures,
      {{ fail_calc }} {{ warn_if }} as should_warn,
      {{ fail_calc }} {{ error_if }} as should_error
    from (
      {{ main_sql }}
      {{ "limit " ~ limit if limit is not none }}
    ) dbt_internal_test
{%- endmacro %}
