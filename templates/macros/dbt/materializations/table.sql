{#- table: built and swapped in inside one transaction, so a failure or a
    kill leaves the previous table in place. -#}
{% materialization table, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {{ replace_with_table(existing_relation, target_relation, sql) }}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- Builds `target_relation` from `sql` in place of `existing_relation`
    (none when there is none yet), as the `main` statement. -#}
{% macro replace_with_table(existing_relation, target_relation, sql) -%}
    {{ return(adapter.dispatch('replace_with_table', 'dbt')(existing_relation, target_relation, sql)) }}
{%- endmacro %}

{#- DuckDB replaces inside the node's transaction: until the commit,
    readers keep seeing the previous table. -#}
{% macro default__replace_with_table(existing_relation, target_relation, sql) -%}
    {%- if existing_relation is not none and existing_relation.type != 'table' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(false, target_relation, sql) }}
    {%- endcall %}
{%- endmacro %}
