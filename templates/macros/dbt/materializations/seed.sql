{#- seed: DuckDB reads the CSV itself (no row-by-row inserts). column_types
    override the detected type of a column (varchar keeps leading zeros). A
    re-run replaces the rows; a full refresh, or a change of columns, needs the
    table recreated. -#}
{% materialization seed, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set full_refresh_mode = should_full_refresh() -%}
    {%- set csv = read_seed_csv(seed_file_path) -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {%- if existing_relation is none or full_refresh_mode or existing_relation.type != 'table' -%}
        {%- if existing_relation is not none -%}
            {{ adapter.drop_relation(existing_relation) }}
        {%- endif -%}
        {% call statement('main') -%}
            create table {{ target_relation }} as select * from {{ csv }}
        {%- endcall %}
    {%- else -%}
        {%- set csv_columns = run_query('describe select * from ' ~ csv).columns[0].values() | map('lower') | list -%}
        {%- set table_columns = adapter.get_columns_in_relation(existing_relation) | map(attribute='name') | map('lower') | list -%}
        {%- if csv_columns != table_columns -%}
            {% do exceptions.raise_compiler_error(
                "the columns of " ~ model.original_file_path ~ " (" ~ csv_columns | join(', ')
                ~ ") differ from those of " ~ target_relation ~ " (" ~ table_columns | join(', ')
                ~ "); run with --full-refresh to recreate the table") %}
        {%- endif -%}
        {% call statement('truncate') -%}
            delete from {{ target_relation }}
        {%- endcall %}
        {% call statement('main') -%}
            insert into {{ target_relation }} by name select * from {{ csv }}
        {%- endcall %}
    {%- endif -%}

    {{ finish_materialization(target_relation, grants=false) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- The table expression that reads a seed file. -#}
{% macro read_seed_csv(path) -%}
    {{ return(adapter.dispatch('read_seed_csv', 'dbt')(path)) }}
{%- endmacro %}

{% macro default__read_seed_csv(path) -%}
    {%- set column_types = config.get('column_types') or {} -%}
    {%- set delimiter = config.get('delimiter') or ',' -%}
    {%- set types -%}
        {%- for name, type in column_types.items() -%}
            '{{ name | replace("'", "''") }}': '{{ type }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    {%- endset -%}
    {{ return("read_csv('" ~ (path | replace("'", "''")) ~ "', header = true, delim = '" ~ delimiter ~ "'"
              ~ (", types = {" ~ types ~ "}" if column_types else "") ~ ")") }}
{%- endmacro %}
