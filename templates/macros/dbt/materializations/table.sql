{#- table: built and swapped in inside one transaction, so a failure or a
    kill leaves the previous table in place. -#}
{% materialization table, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {%- if existing_relation is not none and existing_relation.type != 'table' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}

    {% call statement('main') -%}
        {{ get_create_table_as_sql(false, target_relation, sql) }}
    {%- endcall %}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
