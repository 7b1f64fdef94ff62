{#- The statements of dbt's incremental strategies, as packages and custom
    materializations call them. -#}

{% macro get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {{ return(adapter.dispatch('get_merge_sql', 'dbt')(target, source, unique_key, dest_columns, incremental_predicates)) }}
{%- endmacro %}

{#- A merge's join: the incremental predicates, then each unique_key
    column matched (FALSE without a key: every row is new). -#}
{% macro merge_predicates(unique_key, incremental_predicates) -%}
    {%- set predicates = (incremental_predicates or []) | list -%}
    {%- if unique_key -%}
        {%- for key in unique_key_list(unique_key) -%}
            {%- do predicates.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
        {%- endfor -%}
    {%- else -%}
        {%- do predicates.append('FALSE') -%}
    {%- endif -%}
    {{ return(predicates) }}
{%- endmacro %}

{% macro default__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    {%- set merge_update_columns = config.get('merge_update_columns') -%}
    {%- set merge_exclude_columns = config.get('merge_exclude_columns') -%}
    {%- set update_columns = get_merge_update_columns(merge_update_columns, merge_exclude_columns, dest_columns) -%}
    {{ config.get('sql_header') or '' }}
    merge into {{ target }} as DBT_INTERNAL_DEST
        using {{ source }} as DBT_INTERNAL_SOURCE
        on {{ merge_predicates(unique_key, incremental_predicates) | join(' and ') }}
    {% if unique_key %}
    when matched then update set
        {% for column_name in update_columns -%}
            {{ column_name }} = DBT_INTERNAL_SOURCE.{{ column_name }}{{ "," if not loop.last }}
        {%- endfor %}
    {% endif %}
    when not matched then insert
        ({{ dest_cols_csv }})
    values
        ({{ dest_cols_csv }})
{%- endmacro %}

{#- The quoted columns a merge updates: merge_update_columns, or every
    destination column less merge_exclude_columns. -#}
{% macro get_merge_update_columns(merge_update_columns, merge_exclude_columns, dest_columns) -%}
    {%- if merge_update_columns and merge_exclude_columns -%}
        {{ exceptions.raise_compiler_error('Model cannot specify merge_update_columns and merge_exclude_columns. Please update model to use only one config') }}
    {%- elif merge_update_columns -%}
        {{ return(merge_update_columns) }}
    {%- else -%}
        {%- set excluded = (merge_exclude_columns or []) | map('lower') | list -%}
        {%- set out = [] -%}
        {%- for col in dest_columns if col.name | lower not in excluded -%}
            {%- do out.append(col.quoted) -%}
        {%- endfor -%}
        {{ return(out) }}
    {%- endif -%}
{%- endmacro %}

{% macro get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {{ return(adapter.dispatch('get_delete_insert_merge_sql', 'dbt')(target, source, unique_key, dest_columns, incremental_predicates)) }}
{%- endmacro %}

{% macro default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    {%- if unique_key %}
    delete from {{ target }}
    using {{ source }}
    where (
        {% for key in unique_key_list(unique_key) -%}
            {{ source }}.{{ key }} = {{ target }}.{{ key }}{{ ' and ' if not loop.last }}
        {%- endfor %}
        {%- for predicate in incremental_predicates or [] %}
        and {{ predicate }}
        {%- endfor %}
    );
    {%- endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )
{%- endmacro %}

{% macro get_insert_overwrite_merge_sql(target, source, dest_columns, predicates, include_sql_header=false) -%}
    {{ return(adapter.dispatch('get_insert_overwrite_merge_sql', 'dbt')(target, source, dest_columns, predicates, include_sql_header)) }}
{%- endmacro %}

{% macro default__get_insert_overwrite_merge_sql(target, source, dest_columns, predicates, include_sql_header) -%}
    {%- set predicates = [] if predicates is none else [] + predicates -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    {{ config.get('sql_header') or '' if include_sql_header }}
    merge into {{ target }} as DBT_INTERNAL_DEST
        using {{ source }} as DBT_INTERNAL_SOURCE
        on FALSE
    when not matched by source
        {% if predicates %} and {{ predicates | join(' and ') }} {% endif %}
        then delete
    when not matched then insert
        ({{ dest_cols_csv }})
    values
        ({{ dest_cols_csv }})
{%- endmacro %}

{% macro get_incremental_delete_insert_sql(arg_dict) -%}
    {{ return(adapter.dispatch('get_incremental_delete_insert_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}

{% macro default__get_incremental_delete_insert_sql(arg_dict) -%}
    {{ return(get_delete_insert_merge_sql(arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['unique_key'], arg_dict['dest_columns'], arg_dict['incremental_predicates'])) }}
{%- endmacro %}

{% macro get_incremental_insert_overwrite_sql(arg_dict) -%}
    {{ return(adapter.dispatch('get_incremental_insert_overwrite_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}

{% macro default__get_incremental_insert_overwrite_sql(arg_dict) -%}
    {{ return(get_insert_overwrite_merge_sql(arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['dest_columns'], arg_dict['incremental_predicates'])) }}
{%- endmacro %}

{#- dbt-duckdb's default strategy is delete+insert. -#}
{% macro get_incremental_default_sql(arg_dict) -%}
    {{ return(adapter.dispatch('get_incremental_default_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}

{% macro default__get_incremental_default_sql(arg_dict) -%}
    {{ return(get_incremental_delete_insert_sql(arg_dict)) }}
{%- endmacro %}

{#- `{% call set_sql_header(config) %}...{% endcall %}`: SQL run before the model's. -#}
{% macro set_sql_header(config) -%}
    {{ config.set('sql_header', caller()) }}
{%- endmacro %}

{% macro noop_statement(name=none, message=none, code=none, rows_affected=none, res=none) -%}
    {%- set sql = caller() -%}
    {%- if name is not none -%}
        {{ store_result(name, response={'_message': message, 'code': code, 'rows_affected': rows_affected}, agate_table=res) }}
    {%- endif -%}
{%- endmacro %}

{#- The replace step of a materialization: drop what is there, create anew. -#}
{% macro get_replace_sql(existing_relation, target_relation, sql) -%}
    {{ return(adapter.dispatch('get_replace_sql', 'dbt')(existing_relation, target_relation, sql)) }}
{%- endmacro %}

{% macro default__get_replace_sql(existing_relation, target_relation, sql) -%}
    {%- if target_relation.type == 'view' -%}
        {{ get_create_view_as_sql(target_relation, sql) }}
    {%- else -%}
        {{ get_create_table_as_sql(false, target_relation, sql) }}
    {%- endif -%}
{%- endmacro %}

{#- Freshness of a source: max(loaded_at_field) and the time now. -#}
{% macro collect_freshness(source, loaded_at_field, filter) -%}
    {{ return(adapter.dispatch('collect_freshness', 'dbt')(source, loaded_at_field, filter)) }}
{%- endmacro %}

{% macro default__collect_freshness(source, loaded_at_field, filter) -%}
    {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
        select
            max({{ loaded_at_field }}) as max_loaded_at,
            {{ current_timestamp() }} as snapshotted_at
        from {{ source }}
        {% if filter %}
        where {{ filter }}
        {% endif %}
    {%- endcall %}
    {{ return(load_result('collect_freshness')) }}
{%- endmacro %}

{#- microbatch (dbt 1.9): one batch replaces its window of event time. -#}
{% macro get_incremental_microbatch_sql(arg_dict) -%}
    {{ return(adapter.dispatch('get_incremental_microbatch_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}

{% macro default__get_incremental_microbatch_sql(arg_dict) -%}
    {%- set event_time = config.get('event_time') -%}
    {%- set cols = arg_dict['dest_columns'] | map(attribute='name') | map('adapter_quote') | join(', ') -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ event_time }} >= '{{ model.batch.event_time_start }}' and {{ event_time }} < '{{ model.batch.event_time_end }}';
    insert into {{ arg_dict['target_relation'] }} ({{ cols }})
    select {{ cols }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
