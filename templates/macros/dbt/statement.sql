{#- Running SQL from templates: `statement` blocks, `run_query`, and the
    checks materializations share. The database work happens in the adapter. -#}

{%- macro statement(name=none, fetch_result=false, auto_begin=true, language='sql') -%}
    {%- if execute -%}
        {%- set compiled_code = caller() -%}
        {%- set res, table = adapter.execute(compiled_code, auto_begin=auto_begin, fetch=fetch_result) -%}
        {%- if name is not none -%}
            {{ store_result(name, response=res, agate_table=table) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro run_query(sql) %}
    {% call statement("run_query_statement", fetch_result=true, auto_begin=false) %}
        {{ sql }}
    {% endcall %}
    {% do return(load_result("run_query_statement").table) %}
{% endmacro %}

{% macro is_incremental() %}
    {% if not execute %}
        {{ return(false) }}
    {% else %}
        {% set relation = adapter.get_relation(this.database, this.schema, this.identifier) %}
        {{ return(relation is not none
                  and relation.type == 'table'
                  and model.config.materialized == 'incremental'
                  and not should_full_refresh()) }}
    {% endif %}
{% endmacro %}

{% macro should_full_refresh() %}
    {% set config_full_refresh = config.get('full_refresh') %}
    {% if config_full_refresh is none %}
        {% set config_full_refresh = flags.FULL_REFRESH %}
    {% endif %}
    {% do return(config_full_refresh) %}
{% endmacro %}

{#- As dbt 1.7+: `store_failures_as` decides when set (table and view
    store the rows, ephemeral does not); else `store_failures`, else the flag. -#}
{% macro should_store_failures() %}
    {% set store_as = config.get('store_failures_as') %}
    {% if store_as is not none %}
        {% do return(store_as in ['table', 'view']) %}
    {% endif %}
    {% set config_store_failures = config.get('store_failures') %}
    {% if config_store_failures is none %}
        {% set config_store_failures = flags.STORE_FAILURES %}
    {% endif %}
    {% do return(config_store_failures) %}
{% endmacro %}
