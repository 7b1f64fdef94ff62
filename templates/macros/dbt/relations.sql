{#- Creating, dropping and renaming relations and schemas. adapter.create_schema,
    adapter.drop_relation, ... run these; a project can override any of them
    (e.g. duckdb__drop_relation) as with dbt. -#}

{% macro create_schema(relation) -%}
    {{ adapter.dispatch('create_schema', 'dbt')(relation) }}
{%- endmacro %}

{% macro default__create_schema(relation) -%}
    {%- call statement('create_schema') -%}
        create schema if not exists {{ relation.without_identifier() }}
    {%- endcall -%}
{%- endmacro %}

{% macro drop_schema(relation) -%}
    {{ adapter.dispatch('drop_schema', 'dbt')(relation) }}
{%- endmacro %}

{% macro default__drop_schema(relation) -%}
    {%- call statement('drop_schema') -%}
        drop schema if exists {{ relation.without_identifier() }} cascade
    {%- endcall -%}
{%- endmacro %}

{#- A relation's kind as SQL says it: `table`, `view`, `materialized view`. -#}
{%- macro relation_kind_sql(relation) -%}
    {{- (relation.type or 'table') | replace('_', ' ') -}}
{%- endmacro -%}

{% macro drop_relation(relation) -%}
    {{ return(adapter.dispatch('drop_relation', 'dbt')(relation)) }}
{%- endmacro %}

{% macro default__drop_relation(relation) -%}
    {%- call statement('drop_relation') -%}
        drop {{ relation_kind_sql(relation) }} if exists {{ relation }} cascade
    {%- endcall -%}
{%- endmacro %}

{% macro truncate_relation(relation) -%}
    {{ return(adapter.dispatch('truncate_relation', 'dbt')(relation)) }}
{%- endmacro %}

{% macro default__truncate_relation(relation) -%}
    {%- call statement('truncate_relation') -%}
        delete from {{ relation }}
    {%- endcall -%}
{%- endmacro %}

{% macro rename_relation(from_relation, to_relation) -%}
    {{ return(adapter.dispatch('rename_relation', 'dbt')(from_relation, to_relation)) }}
{%- endmacro %}

{% macro default__rename_relation(from_relation, to_relation) -%}
    {%- call statement('rename_relation') -%}
        alter {{ relation_kind_sql(from_relation) }} {{ from_relation }} rename to {{ adapter.quote(to_relation.identifier) }}
    {%- endcall -%}
{%- endmacro %}

{% macro drop_relation_if_exists(relation) %}
    {% if relation is not none %}
        {{ adapter.drop_relation(relation) }}
    {% endif %}
{% endmacro %}

{% macro load_relation(relation) %}
    {{ return(adapter.get_relation(relation.database, relation.schema, relation.identifier)) }}
{% endmacro %}

{% macro load_cached_relation(relation) %}
    {{ return(load_relation(relation)) }}
{% endmacro %}

{#- Relations for intermediate steps. DuckDB temporary tables live outside
    any schema, so they are written as a bare identifier. -#}
{% macro make_temp_relation(base_relation, suffix='__dbt_tmp') %}
    {{ return(adapter.dispatch('make_temp_relation', 'dbt')(base_relation, suffix)) }}
{% endmacro %}

{% macro default__make_temp_relation(base_relation, suffix) %}
    {%- set identifier = base_relation.identifier ~ suffix -%}
    {{ return(api.Relation.create(identifier=identifier, type='table').include(database=false, schema=false)) }}
{% endmacro %}

{% macro make_intermediate_relation(base_relation, suffix='__dbt_tmp') %}
    {{ return(adapter.dispatch('make_intermediate_relation', 'dbt')(base_relation, suffix)) }}
{% endmacro %}

{% macro default__make_intermediate_relation(base_relation, suffix) %}
    {{ return(base_relation.incorporate(path={'identifier': base_relation.identifier ~ suffix})) }}
{% endmacro %}

{% macro make_backup_relation(base_relation, backup_relation_type, suffix='__dbt_backup') %}
    {{ return(adapter.dispatch('make_backup_relation', 'dbt')(base_relation, backup_relation_type, suffix)) }}
{% endmacro %}

{% macro default__make_backup_relation(base_relation, backup_relation_type, suffix) %}
    {{ return(base_relation.incorporate(path={'identifier': base_relation.identifier ~ suffix}, type=backup_relation_type)) }}
{% endmacro %}

{#- The `indexes` config, for warehouses that have indexes. -#}
{% macro create_indexes(relation) -%}
    {{ return(adapter.dispatch('create_indexes', 'dbt')(relation)) }}
{%- endmacro %}

{% macro default__create_indexes(relation) -%}
{%- endmacro %}
