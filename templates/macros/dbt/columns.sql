{#- Columns of queries and relations, and changing them. -#}

{#- A query with the same columns as select_sql that reads no rows. -#}
{% macro get_empty_subquery_sql(select_sql, select_sql_header=none) -%}
    {{ return(adapter.dispatch('get_empty_subquery_sql', 'dbt')(select_sql, select_sql_header)) }}
{%- endmacro %}

{% macro default__get_empty_subquery_sql(select_sql, select_sql_header=none) -%}
    {%- if select_sql_header is not none -%}
    {{ select_sql_header }}
    {%- endif %}
    select * from (
        {{ select_sql }}
    ) as __dbt_sbq
    where false
    limit 0
{%- endmacro %}

{#- A query of typed nulls for the declared columns (a contract's shape). -#}
{% macro get_empty_schema_sql(columns) -%}
    {{ return(adapter.dispatch('get_empty_schema_sql', 'dbt')(columns)) }}
{%- endmacro %}

{% macro default__get_empty_schema_sql(columns) -%}
    {%- set untyped = [] -%}
    select
    {% for key in columns -%}
        {%- set col = columns[key] -%}
        {%- if col['data_type'] is not defined or col['data_type'] is none -%}
            {%- do untyped.append(col['name']) -%}
        {%- endif -%}
        {%- set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
        {{ cast('null', col['data_type']) }} as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if untyped -%}
        {{ exceptions.raise_compiler_error("These columns have no data_type: " ~ untyped | join(', ')) }}
    {%- endif -%}
{%- endmacro %}

{#- The columns (api.Column) a query returns, without reading its rows. -#}
{% macro get_column_schema_from_query(select_sql, select_sql_header=none) -%}
    {{ return(adapter.get_column_schema_from_query(get_empty_subquery_sql(select_sql, select_sql_header))) }}
{%- endmacro %}

{#- The column names a query returns. -#}
{% macro get_columns_in_query(select_sql) -%}
    {{ return(adapter.dispatch('get_columns_in_query', 'dbt')(select_sql)) }}
{%- endmacro %}

{% macro default__get_columns_in_query(select_sql) -%}
    {% call statement('get_columns_in_query', fetch_result=True, auto_begin=False) -%}
        {{ get_empty_subquery_sql(select_sql) }}
    {%- endcall %}
    {{ return(load_result('get_columns_in_query').table.columns | map(attribute='name') | list) }}
{%- endmacro %}

{% macro get_columns_in_relation(relation) -%}
    {{ return(adapter.get_columns_in_relation(relation)) }}
{%- endmacro %}

{#- Rows of (name, type, size, precision, scale) as api.Column objects. -#}
{% macro sql_convert_columns_in_relation(table) -%}
    {%- set columns = [] -%}
    {%- for row in table -%}
        {%- do columns.append(api.Column(*row)) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{% macro get_list_of_column_names(columns) -%}
    {{ return(columns | map(attribute='name') | list) }}
{%- endmacro %}

{% macro get_quoted_csv(column_names) -%}
    {%- set quoted = [] -%}
    {%- for col in column_names -%}
        {%- do quoted.append(adapter.quote(col)) -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}

{% macro alter_column_type(relation, column_name, new_column_type) -%}
    {{ return(adapter.dispatch('alter_column_type', 'dbt')(relation, column_name, new_column_type)) }}
{%- endmacro %}

{% macro default__alter_column_type(relation, column_name, new_column_type) -%}
    {% call statement('alter_column_type') -%}
        alter table {{ relation }} alter column {{ adapter.quote(column_name) }} type {{ new_column_type }}
    {%- endcall %}
{%- endmacro %}

{% macro alter_relation_add_remove_columns(relation, add_columns=none, remove_columns=none) -%}
    {{ return(adapter.dispatch('alter_relation_add_remove_columns', 'dbt')(relation, add_columns, remove_columns)) }}
{%- endmacro %}

{#- DuckDB changes one column per statement. -#}
{% macro default__alter_relation_add_remove_columns(relation, add_columns, remove_columns) -%}
    {%- for column in add_columns or [] -%}
        {% do run_query('alter ' ~ (relation.type or 'table') ~ ' ' ~ relation ~ ' add column ' ~ column.quoted ~ ' ' ~ column.data_type) %}
    {%- endfor -%}
    {%- for column in remove_columns or [] -%}
        {% do run_query('alter ' ~ (relation.type or 'table') ~ ' ' ~ relation ~ ' drop column ' ~ column.quoted) %}
    {%- endfor -%}
{%- endmacro %}

{#- `select <the contract's columns> from (sql)`, in the declared order. -#}
{% macro get_select_subquery(sql) -%}
    {{ return(adapter.dispatch('get_select_subquery', 'dbt')(sql)) }}
{%- endmacro %}

{% macro default__get_select_subquery(sql) -%}
    select {{ model['columns'].values() | map(attribute='name') | join(', ') }}
    from (
        {{ sql }}
    ) as model_subq
{%- endmacro %}
