{#- incremental: the first run (or a full refresh) builds the table; later
    runs put the model's new rows in a temporary table and apply the
    strategy: append, delete+insert (the default, as dbt-duckdb) or merge. -#}
{% materialization incremental, default %}
    {%- set existing_relation = load_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {#- A microbatch batch: kiln says whether it builds the table anew. -#}
    {%- set full_refresh_mode = microbatch_replace if microbatch_replace is defined else should_full_refresh() -%}
    {%- set strategy = (config.get('incremental_strategy') or 'delete+insert') | lower -%}
    {%- set unique_key = config.get('unique_key') -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {%- if existing_relation is none or full_refresh_mode or existing_relation.type != 'table' -%}
        {{ replace_with_table(existing_relation, target_relation, sql) }}
    {%- else -%}
        {%- set temp_relation = make_temp_relation(target_relation) -%}
        {% call statement('create_tmp_relation') -%}
            {{ get_create_table_as_sql(true, temp_relation, sql) }}
        {%- endcall %}
        {%- set dest_columns = process_schema_changes(on_schema_change, temp_relation, existing_relation) -%}
        {%- if not dest_columns -%}
            {%- set dest_columns = adapter.get_columns_in_relation(existing_relation) -%}
        {%- endif -%}
        {%- set arg_dict = {
            'target_relation': target_relation,
            'temp_relation': temp_relation,
            'unique_key': unique_key,
            'dest_columns': dest_columns,
            'incremental_predicates': config.get('incremental_predicates'),
        } -%}
        {{ run_incremental_strategy(strategy, arg_dict) }}
        {% call statement('drop_tmp_relation') -%}
            drop table if exists {{ temp_relation }}
        {%- endcall %}
    {%- endif -%}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% macro incremental_validate_on_schema_change(on_schema_change, default='ignore') %}
    {%- set valid = ['ignore', 'fail', 'append_new_columns', 'sync_all_columns'] -%}
    {%- if on_schema_change is none -%}
        {{ return(default) }}
    {%- elif on_schema_change not in valid -%}
        {% do exceptions.raise_compiler_error("on_schema_change '" ~ on_schema_change ~ "' must be one of " ~ valid | join(', ')) %}
    {%- else -%}
        {{ return(on_schema_change) }}
    {%- endif -%}
{% endmacro %}

{#- Applies on_schema_change; returns the columns to insert (none: the target's). -#}
{% macro process_schema_changes(on_schema_change, source_relation, target_relation) %}
    {%- if on_schema_change == 'ignore' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set source_columns = adapter.get_columns_in_relation(source_relation) -%}
    {%- set target_columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- set target_names = target_columns | map(attribute='name') | map('lower') | list -%}
    {%- set source_names = source_columns | map(attribute='name') | map('lower') | list -%}
    {%- set added = [] -%}
    {%- set removed = [] -%}
    {%- set retyped = [] -%}
    {%- for c in source_columns -%}
        {%- if c.name | lower not in target_names -%}
            {%- do added.append(c) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for c in target_columns -%}
        {%- if c.name | lower not in source_names -%}
            {%- do removed.append(c) -%}
        {%- else -%}
            {%- for s in source_columns if s.name | lower == c.name | lower and s.data_type != c.data_type -%}
                {%- do retyped.append(s) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not added and not removed and not retyped -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if on_schema_change == 'fail' -%}
        {% do exceptions.raise_compiler_error(
            "The columns of " ~ target_relation ~ " changed and on_schema_change is 'fail'."
            ~ " New: [" ~ (added | map(attribute='name') | join(', ')) ~ "]"
            ~ "; missing: [" ~ (removed | map(attribute='name') | join(', ')) ~ "]"
            ~ "; retyped: [" ~ (retyped | map(attribute='name') | join(', ')) ~ "]."
            ~ " Run with --full-refresh, or set on_schema_change to append_new_columns or sync_all_columns.") %}
    {%- endif -%}
    {%- for c in added -%}
        {% call statement('add_column') -%}
            alter table {{ target_relation }} add column {{ adapter.quote(c.name) }} {{ c.data_type }}
        {%- endcall %}
    {%- endfor -%}
    {%- if on_schema_change == 'sync_all_columns' -%}
        {%- for c in removed -%}
            {% call statement('drop_column') -%}
                alter table {{ target_relation }} drop column {{ adapter.quote(c.name) }}
            {%- endcall %}
        {%- endfor -%}
        {%- for c in retyped -%}
            {% call statement('alter_column_type') -%}
                alter table {{ target_relation }} alter column {{ adapter.quote(c.name) }} type {{ c.data_type }}
            {%- endcall %}
        {%- endfor -%}
        {{ return(source_columns) }}
    {%- endif -%}
    {#- append_new_columns: the target's columns (now including the new ones) that the source has. -#}
    {%- set keep = [] -%}
    {%- for c in adapter.get_columns_in_relation(target_relation) if c.name | lower in source_names -%}
        {%- do keep.append(c) -%}
    {%- endfor -%}
    {{ return(keep) }}
{% endmacro %}

{% macro run_incremental_strategy(strategy, arg_dict) %}
    {%- if strategy == 'append' -%}
        {% call statement('main') %}{{ get_incremental_append_sql(arg_dict) }}{% endcall %}
    {%- elif strategy == 'delete+insert' -%}
        {%- if arg_dict['unique_key'] -%}
            {% call statement('delete') %}{{ get_incremental_delete_sql(arg_dict) }}{% endcall %}
        {%- endif -%}
        {% call statement('main') %}{{ get_incremental_append_sql(arg_dict) }}{% endcall %}
    {%- elif strategy == 'merge' -%}
        {%- if not arg_dict['unique_key'] -%}
            {% do exceptions.raise_compiler_error("incremental_strategy 'merge' needs a unique_key") %}
        {%- endif -%}
        {% call statement('main') %}{{ get_incremental_merge_sql(arg_dict) }}{% endcall %}
    {%- else -%}
        {#- A custom strategy, as dbt: the project's get_incremental_<name>_sql(arg_dict). -#}
        {%- set custom = context['get_incremental_' ~ strategy ~ '_sql'] -%}
        {%- if custom is undefined or custom is none -%}
            {% do exceptions.raise_compiler_error("incremental_strategy '" ~ strategy ~ "' is not one of append, delete+insert, merge, and no macro get_incremental_" ~ strategy ~ "_sql defines it") %}
        {%- endif -%}
        {% call statement('main') %}{{ custom(arg_dict) }}{% endcall %}
    {%- endif -%}
{% endmacro %}

{% macro unique_key_list(unique_key) %}
    {%- if unique_key is string -%}
        {{ return([unique_key]) }}
    {%- else -%}
        {{ return(unique_key | list) }}
    {%- endif -%}
{% endmacro %}

{% macro get_incremental_append_sql(arg_dict) %}
    {{ return(adapter.dispatch('get_incremental_append_sql', 'dbt')(arg_dict)) }}
{% endmacro %}

{% macro default__get_incremental_append_sql(arg_dict) %}
    {%- set cols = arg_dict['dest_columns'] | map(attribute='name') | map('adapter_quote') | join(', ') -%}
    insert into {{ arg_dict['target_relation'] }} ({{ cols }})
    select {{ cols }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}

{% macro get_incremental_delete_sql(arg_dict) %}
    {{ return(adapter.dispatch('get_incremental_delete_sql', 'dbt')(arg_dict)) }}
{% endmacro %}

{% macro default__get_incremental_delete_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    delete from {{ target }} as dbt_internal_dest
    using {{ source }} as dbt_internal_source
    where {% for key in unique_key_list(arg_dict['unique_key']) -%}
        dbt_internal_dest.{{ key }} = dbt_internal_source.{{ key }}{{ ' and ' if not loop.last }}
    {%- endfor %}
    {%- for predicate in arg_dict['incremental_predicates'] or [] %}
        and {{ predicate }}
    {%- endfor %}
{% endmacro %}

{% macro get_incremental_merge_sql(arg_dict) %}
    {{ return(adapter.dispatch('get_incremental_merge_sql', 'dbt')(arg_dict)) }}
{% endmacro %}

{% macro default__get_incremental_merge_sql(arg_dict) %}
    {%- set cols = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set update_cols = config.get('merge_update_columns') or cols -%}
    {%- set exclude = config.get('merge_exclude_columns') or [] -%}
    merge into {{ arg_dict['target_relation'] }} as dbt_internal_dest
    using {{ arg_dict['temp_relation'] }} as dbt_internal_source
    on {% for key in unique_key_list(arg_dict['unique_key']) -%}
        dbt_internal_dest.{{ key }} = dbt_internal_source.{{ key }}{{ ' and ' if not loop.last }}
    {%- endfor %}
    {%- for predicate in arg_dict['incremental_predicates'] or [] %}
        and {{ predicate }}
    {%- endfor %}
    when matched then update set
        {% for c in update_cols if c not in exclude -%}
        {{ adapter.quote(c) }} = dbt_internal_source.{{ adapter.quote(c) }}{{ ',' if not loop.last }}
        {% endfor %}
    when not matched then insert ({{ cols | map('adapter_quote') | join(', ') }})
        values ({% for c in cols %}dbt_internal_source.{{ adapter.quote(c) }}{{ ', ' if not loop.last }}{% endfor %})
{% endmacro %}
