{#- dbt-spark's incremental: the model's new rows become a temporary view,
    then `append` (the default) inserts them, `insert_overwrite` replaces
    the partitions they fall in (dynamic partition overwrite when
    partition_by is set; the whole table otherwise), and `merge` (delta,
    iceberg, hudi) updates rows by unique_key and inserts the rest. -#}
{% materialization incremental, adapter='spark' %}
    {%- set file_format = spark__validate_file_format(config.get('file_format') or 'parquet') -%}
    {%- set strategy = spark__validate_incremental_strategy(config.get('incremental_strategy') or 'append', file_format) -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {#- A microbatch batch: kiln says whether it builds the table anew. -#}
    {%- set full_refresh_mode = microbatch_replace if microbatch_replace is defined else should_full_refresh() -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}

    {%- if strategy in ['insert_overwrite', 'microbatch'] and config.get('partition_by') -%}
        {% call statement('partition_overwrite_mode') -%}
            set spark.sql.sources.partitionOverwriteMode = DYNAMIC
        {%- endcall %}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {%- if existing_relation is none or full_refresh_mode or existing_relation.type != 'table' -%}
        {{ replace_with_table(existing_relation, target_relation, sql) }}
    {%- else -%}
        {%- set temp_relation = make_temp_relation(target_relation) -%}
        {% call statement('create_tmp_relation') -%}
            {{ get_create_table_as_sql(true, temp_relation, sql) }}
        {%- endcall %}
        {%- do process_schema_changes(on_schema_change, temp_relation, existing_relation) -%}
        {%- set arg_dict = {
            'target_relation': target_relation,
            'temp_relation': temp_relation,
            'unique_key': config.get('unique_key'),
            'dest_columns': adapter.get_columns_in_relation(target_relation),
            'incremental_predicates': config.get('incremental_predicates') or config.get('predicates'),
        } -%}
        {%- if strategy == 'insert_overwrite' -%}
            {% call statement('main') %}{{ spark__get_insert_overwrite_sql(arg_dict) }}{% endcall %}
        {%- else -%}
            {{ run_incremental_strategy(strategy, arg_dict) }}
        {%- endif -%}
        {% call statement('drop_tmp_relation') -%}
            drop view if exists {{ temp_relation }}
        {%- endcall %}
    {%- endif -%}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% macro spark__validate_file_format(file_format) -%}
    {%- set accepted = ['text', 'csv', 'json', 'jdbc', 'parquet', 'orc', 'hive', 'delta', 'iceberg', 'libsvm', 'hudi'] -%}
    {%- if file_format not in accepted -%}
        {% do exceptions.raise_compiler_error("Invalid file format provided: " ~ file_format ~ "\n    Expected one of: " ~ accepted | join(', ')) %}
    {%- endif -%}
    {{ return(file_format) }}
{%- endmacro %}

{% macro spark__validate_incremental_strategy(strategy, file_format) -%}
    {%- if strategy not in ['append', 'merge', 'insert_overwrite', 'microbatch'] -%}
        {#- A project's own strategy (get_incremental_<name>_sql) is allowed, as in dbt. -#}
        {%- set custom = context['get_incremental_' ~ strategy ~ '_sql'] -%}
        {%- if custom is undefined or custom is none -%}
            {% do exceptions.raise_compiler_error("Invalid incremental strategy provided: " ~ strategy ~ "\n    Expected one of: 'append', 'merge', 'insert_overwrite', 'microbatch'") %}
        {%- endif -%}
    {%- elif strategy == 'merge' and not spark__is_transactional_format(file_format) -%}
        {% do exceptions.raise_compiler_error("Invalid incremental strategy provided: merge\n    You can only choose this strategy when file_format is set to 'delta' or 'iceberg' or 'hudi'") %}
    {%- endif -%}
    {{ return(strategy) }}
{%- endmacro %}

{% macro spark__get_incremental_append_sql(arg_dict) -%}
    insert into table {{ arg_dict['target_relation'] }}
    select {{ arg_dict['dest_columns'] | map(attribute='name') | map('adapter_quote') | join(', ') }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{% macro spark__get_insert_overwrite_sql(arg_dict) -%}
    insert overwrite table {{ arg_dict['target_relation'] }}
    {{- spark__partition_cols('partition') }}
    select {{ arg_dict['dest_columns'] | map(attribute='name') | map('adapter_quote') | join(', ') }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- microbatch on Spark replaces the batch's partitions, as dbt-spark. -#}
{% macro spark__get_incremental_microbatch_sql(arg_dict) -%}
    {%- if not config.get('partition_by') -%}
        {% do exceptions.raise_compiler_error("dbt-spark 'microbatch' incremental strategy requires a `partition_by` config.\n    Ensure you are using a `partition_by` column that is of grain " ~ config.get('batch_size') ~ ".") %}
    {%- endif -%}
    {{ spark__get_insert_overwrite_sql(arg_dict) }}
{%- endmacro %}

{% macro spark__get_incremental_merge_sql(arg_dict) -%}
    {{ get_merge_sql(arg_dict['target_relation'], arg_dict['temp_relation'], arg_dict['unique_key'],
                     arg_dict['dest_columns'], arg_dict['incremental_predicates']) }}
{%- endmacro %}

{#- dbt-spark's merge: `update set *` and `insert *` unless columns are
    named (merge_update_columns, or all but merge_exclude_columns). -#}
{% macro spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- set merge_update_columns = config.get('merge_update_columns') -%}
    {%- set merge_exclude_columns = config.get('merge_exclude_columns') -%}
    {%- set update_columns = get_merge_update_columns(merge_update_columns, merge_exclude_columns, dest_columns)
        if merge_update_columns or merge_exclude_columns else [] -%}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on {{ merge_predicates(unique_key, incremental_predicates) | join(' and ') }}
    when matched then update set
    {%- if update_columns %}
        {% for c in update_columns %}{{ c }} = DBT_INTERNAL_SOURCE.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    {%- else %} *
    {%- endif %}
    when not matched then insert *
{%- endmacro %}

{#- seed: kiln reads the CSV (adapter.seed_columns), creates the table with
    dbt-spark's types (column_types win) and loads the rows in batches.
    Spark cannot truncate every format, so a re-run drops and recreates the
    table, as dbt-spark does. -#}
{% materialization seed, adapter='spark' %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set column_types = config.get('column_types') or {} -%}
    {%- set delimiter = config.get('delimiter') or ',' -%}
    {%- set configured = column_types.keys() | list -%}
    {%- set columns = adapter.seed_columns(seed_file_path, configured, delimiter) -%}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {{ drop_relation_if_exists(existing_relation) }}
    {% call statement('create_seed_table') -%}
        create table {{ target_relation }} ({{ seed_table_columns(columns, column_types) }})
        {%- if config.get('file_format') %}
        using {{ config.get('file_format') }}
        {%- endif %}
        {{- spark__partition_cols('partitioned by') }}
        {{- spark__location_clause(target_relation) }}
        {{- spark__comment_clause() }}
        {{- spark__tblproperties_clause() }}
    {%- endcall %}
    {%- set loaded = adapter.load_seed(target_relation, seed_file_path, configured, delimiter) -%}
    {% call noop_statement('main', 'INSERT ' ~ loaded, 'INSERT', loaded) %}{% endcall %}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- dbt-spark's seed types: whole numbers are bigint, others double. -#}
{% macro spark__seed_column_type(kind) -%}
    {{ return({
        'integer': 'bigint',
        'bigint': 'bigint',
        'float': 'double',
        'boolean': 'boolean',
        'date': 'date',
        'datetime': 'timestamp',
    }.get(kind, 'string')) }}
{%- endmacro %}

{#- Snapshots merge into their table, which only delta, iceberg and hudi
    can do; dbt-spark stops with this error on any other format. -#}
{% macro spark__snapshot_check_table_format() -%}
    {%- set file_format = spark__file_format() -%}
    {%- if not spark__is_transactional_format(file_format) -%}
        {% do exceptions.raise_compiler_error("Invalid file format: " ~ file_format ~ "\n    Snapshot functionality requires file_format be set to 'delta' or 'iceberg' or 'hudi'") %}
    {%- endif -%}
{%- endmacro %}

{% macro spark__snapshot_merge_sql(target, source, insert_cols) -%}
    {%- set columns = get_snapshot_table_column_names() -%}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on DBT_INTERNAL_SOURCE.{{ columns.dbt_scd_id }} = DBT_INTERNAL_DEST.{{ columns.dbt_scd_id }}
    when matched
        and {{ snapshot_is_current('DBT_INTERNAL_DEST', columns) }}
        and DBT_INTERNAL_SOURCE.dbt_change_type in ('update', 'delete')
        then update set {{ columns.dbt_valid_to }} = DBT_INTERNAL_SOURCE.{{ columns.dbt_valid_to }}
    when not matched
        and DBT_INTERNAL_SOURCE.dbt_change_type = 'insert'
        then insert ({{ insert_cols | join(', ') }})
        values ({% for column in insert_cols %}DBT_INTERNAL_SOURCE.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
