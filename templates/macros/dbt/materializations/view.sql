{#- view: replaced in one transaction; a relation of another type under the
    same name is dropped in that transaction too. -#}
{% materialization view, default %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set existing_relation = load_relation(this) -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {{ replace_with_view(existing_relation, target_relation, sql) }}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% macro replace_with_view(existing_relation, target_relation, sql) -%}
    {{ return(adapter.dispatch('replace_with_view', 'dbt')(existing_relation, target_relation, sql)) }}
{%- endmacro %}

{% macro default__replace_with_view(existing_relation, target_relation, sql) -%}
    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {% call statement('main') -%}
        {{ get_create_view_as_sql(target_relation, sql) }}
    {%- endcall %}
{%- endmacro %}
