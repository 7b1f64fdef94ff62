{#- dbt-postgres's way of replacing a relation: build it under an
    intermediate name, move the old one to a backup name, move the new one
    in, drop the backup. All of it happens in the node's transaction, and
    readers of the old relation are blocked only for the renames. -#}

{#- With nothing to replace, the relation is built in place: inside the
    node's transaction it is invisible until the commit anyway. When the
    node does nothing else (no hooks, grants, indexes or docs), the one
    statement needs no transaction around it: a round trip saved. -#}
{% macro postgres__replace_with_table(existing_relation, target_relation, sql) -%}
    {%- if existing_relation is none -%}
        {% call statement('main', auto_begin=not postgres__statement_alone()) -%}
            {{ get_create_table_as_sql(false, target_relation, sql) }}
        {%- endcall %}
        {{ create_indexes(target_relation) }}
        {{ return('') }}
    {%- endif -%}
    {%- set intermediate = make_intermediate_relation(target_relation) -%}
    {{ drop_relation_if_exists(load_relation(intermediate)) }}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(false, intermediate, sql) }}
    {%- endcall %}
    {{ create_indexes(intermediate) }}
    {{ postgres__swap_in(existing_relation, intermediate, target_relation) }}
{%- endmacro %}

{% macro postgres__replace_with_view(existing_relation, target_relation, sql) -%}
    {%- if existing_relation is none -%}
        {% call statement('main', auto_begin=not postgres__statement_alone()) -%}
            {{ get_create_view_as_sql(target_relation, sql) }}
        {%- endcall %}
        {{ return('') }}
    {%- endif -%}
    {%- set intermediate = make_intermediate_relation(target_relation) -%}
    {{ drop_relation_if_exists(load_relation(intermediate)) }}
    {% call statement('main') -%}
        {{ get_create_view_as_sql(intermediate, sql) }}
    {%- endcall %}
    {{ postgres__swap_in(existing_relation, intermediate, target_relation) }}
{%- endmacro %}

{#- Is the node's main statement all it runs? -#}
{%- macro postgres__statement_alone() -%}
    {{ return(not pre_hooks and not post_hooks and not config.get('grants') and not config.get('indexes')
              and not config.persist_relation_docs() and not config.persist_column_docs()) }}
{%- endmacro -%}

{% macro postgres__swap_in(existing_relation, intermediate, target_relation) -%}
    {%- if existing_relation is not none -%}
        {%- set backup = make_backup_relation(target_relation, existing_relation.type) -%}
        {{ drop_relation_if_exists(load_relation(backup)) }}
        {{ adapter.rename_relation(existing_relation, backup) }}
    {%- endif -%}
    {{ adapter.rename_relation(intermediate, target_relation) }}
    {%- if existing_relation is not none -%}
        {{ adapter.drop_relation(backup) }}
    {%- endif -%}
{%- endmacro %}

{#- seed: kiln reads the CSV (adapter.seed_columns), creates the table with
    dbt-postgres's types (column_types win), and loads the rows with COPY
    FROM STDIN in the node's transaction. A re-run truncates and reloads. -#}
{% materialization seed, adapter='postgres' %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set full_refresh_mode = should_full_refresh() -%}
    {%- set column_types = config.get('column_types') or {} -%}
    {%- set delimiter = config.get('delimiter') or ',' -%}
    {%- set configured = column_types.keys() | list -%}
    {%- set columns = adapter.seed_columns(seed_file_path, configured, delimiter) -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {%- if existing_relation is none or full_refresh_mode or existing_relation.type != 'table' -%}
        {{ drop_relation_if_exists(existing_relation) }}
        {% call statement('create_seed_table') -%}
            create table {{ target_relation }} ({{ seed_table_columns(columns, column_types) }})
        {%- endcall %}
        {{ create_indexes(target_relation) }}
    {%- else -%}
        {{ seed_columns_must_match(columns | map(attribute='name'), existing_relation) }}
        {{ adapter.truncate_relation(target_relation) }}
    {%- endif -%}
    {%- set loaded = adapter.load_seed(target_relation, seed_file_path, configured, delimiter) -%}
    {% call noop_statement('main', 'INSERT ' ~ loaded, 'INSERT', loaded) %}{% endcall %}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- A detected seed column kind as a PostgreSQL type, as dbt-postgres types
    agate's columns. -#}
{% macro postgres__seed_column_type(kind) -%}
    {{ return({
        'integer': 'integer',
        'bigint': 'bigint',
        'float': 'float8',
        'boolean': 'boolean',
        'date': 'date',
        'datetime': 'timestamp without time zone',
    }.get(kind, 'text')) }}
{%- endmacro %}

{#- materialized_view (dbt-postgres): created once, refreshed on later
    runs; --full-refresh (or a relation of another type in its place)
    rebuilds it under an intermediate name and swaps it in. -#}
{% materialization materialized_view, adapter='postgres' %}
    {%- set existing_relation = load_relation(this) -%}
    {%- set target_relation = this.incorporate(type='materialized_view') -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {%- if existing_relation is none -%}
        {% call statement('main') -%}
            {{ postgres__create_materialized_view_as(target_relation, sql) }}
        {%- endcall %}
        {{ create_indexes(target_relation) }}
    {%- elif should_full_refresh() or existing_relation.type != 'materialized_view' -%}
        {%- set intermediate = make_intermediate_relation(target_relation) -%}
        {{ drop_relation_if_exists(load_relation(intermediate)) }}
        {% call statement('main') -%}
            {{ postgres__create_materialized_view_as(intermediate, sql) }}
        {%- endcall %}
        {{ create_indexes(intermediate) }}
        {{ postgres__swap_in(existing_relation, intermediate, target_relation) }}
    {%- else -%}
        {% call statement('main') -%}
            refresh materialized view {{ target_relation }}
        {%- endcall %}
    {%- endif -%}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% macro postgres__create_materialized_view_as(relation, sql) -%}
    create materialized view {{ relation }} as (
{{ sql }}
    )
{%- endmacro %}
