{#- snapshot: type-2 history of a query. The first run creates the table
    with the meta columns; later runs stage what changed (new rows, changed
    rows, deleted rows) and apply it in one transaction, so a failure leaves
    the history as it was. -#}
{% materialization snapshot, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set strategy = snapshot_strategy(config.get('strategy'), existing_relation, sql) -%}

    {% do snapshot_check_table_format() %}
    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {% do snapshot_check_unique_key(strategy, sql) %}

    {%- if existing_relation is none -%}
        {% call statement('main') -%}
            {{ get_create_table_as_sql(false, target_relation, build_snapshot_table(strategy, sql)) }}
        {%- endcall %}
    {%- else -%}
        {%- set staging_relation = make_temp_relation(target_relation) -%}
        {% call statement('build_snapshot_staging_relation') -%}
            {{ get_create_table_as_sql(true, staging_relation, snapshot_staging_table(strategy, sql, target_relation)) }}
        {%- endcall %}
        {% do snapshot_add_new_columns(staging_relation, target_relation) %}
        {#- The staging table's columns: a column gone from the query stays
            in the table, NULL from now on. -#}
        {%- set insert_cols = [] -%}
        {%- for col in adapter.get_columns_in_relation(staging_relation) -%}
            {%- if col.name | lower != 'dbt_change_type' and not (col.name | lower).startswith('dbt_unique_key') -%}
                {%- do insert_cols.append(adapter.quote(col.name)) -%}
            {%- endif -%}
        {%- endfor -%}
        {% call statement('main') -%}
            {{ snapshot_merge_sql(target_relation, staging_relation, insert_cols) }}
        {%- endcall %}
        {% call statement('drop_staging_relation') -%}
            drop table if exists {{ staging_relation }}
        {%- endcall %}
    {%- endif -%}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- The names of the meta columns, after snapshot_meta_column_names. -#}
{% macro get_snapshot_table_column_names() %}
    {%- set names = config.get('snapshot_meta_column_names') or {} -%}
    {{ return({
        'dbt_valid_to': names.get('dbt_valid_to') or 'dbt_valid_to',
        'dbt_valid_from': names.get('dbt_valid_from') or 'dbt_valid_from',
        'dbt_scd_id': names.get('dbt_scd_id') or 'dbt_scd_id',
        'dbt_updated_at': names.get('dbt_updated_at') or 'dbt_updated_at',
        'dbt_is_deleted': names.get('dbt_is_deleted') or 'dbt_is_deleted',
    }) }}
{% endmacro %}

{#- ignore (default), invalidate, or new_record; invalidate_hard_deletes is
    the older spelling of invalidate. -#}
{% macro snapshot_hard_deletes() %}
    {%- set mode = config.get('hard_deletes') -%}
    {%- if mode is none or mode == '' -%}
        {%- set mode = 'invalidate' if config.get('invalidate_hard_deletes') else 'ignore' -%}
    {%- endif -%}
    {%- set mode = mode | lower -%}
    {%- if mode not in ['ignore', 'invalidate', 'new_record'] -%}
        {{ exceptions.raise_compiler_error("hard_deletes must be ignore, invalidate or new_record, not '" ~ mode ~ "'") }}
    {%- endif -%}
    {{ return(mode) }}
{% endmacro %}

{% macro snapshot_get_time() -%}
    {{ return(adapter.dispatch('snapshot_get_time', 'dbt')()) }}
{%- endmacro %}

{% macro default__snapshot_get_time() -%}
    now()::timestamp
{%- endmacro %}

{#- md5 of the arguments cast to text and joined with '|', NULL as ''. -#}
{% macro snapshot_hash_arguments(args) -%}
    {{ return(adapter.dispatch('snapshot_hash_arguments', 'dbt')(args)) }}
{%- endmacro %}

{% macro default__snapshot_hash_arguments(args) -%}
    md5({%- for arg in args -%}
        coalesce(cast({{ arg }} as varchar ), '')
        {% if not loop.last %} || '|' || {% endif %}
    {%- endfor -%})
{%- endmacro %}

{% macro unique_key_list_of(unique_key) -%}
    {{ return(unique_key if unique_key is sequence and unique_key is not string else [unique_key]) }}
{%- endmacro %}

{% macro snapshot_strategy(name, existing_relation, source_sql) %}
    {%- if not config.get('unique_key') -%}
        {{ exceptions.raise_compiler_error("snapshot " ~ model.name ~ " needs a unique_key config") }}
    {%- endif -%}
    {%- if name == 'timestamp' -%}
        {{ return(snapshot_timestamp_strategy(existing_relation, source_sql)) }}
    {%- elif name == 'check' -%}
        {{ return(snapshot_check_strategy(existing_relation, source_sql)) }}
    {%- else -%}
        {#- A custom strategy, as dbt: the project's snapshot_<name>_strategy(
            node, snapshotted_rel, current_rel, model_config, target_exists). -#}
        {%- set custom = context['snapshot_' ~ name ~ '_strategy'] -%}
        {%- if custom is undefined or custom is none -%}
            {{ exceptions.raise_compiler_error("snapshot " ~ model.name ~ " has strategy '" ~ name ~ "', which is not timestamp or check, and no macro snapshot_" ~ name ~ "_strategy defines it") }}
        {%- endif -%}
        {%- set s = custom(model, 'snapshotted_data', 'source_data', config, existing_relation is not none) -%}
        {%- set hard_deletes = s.get('hard_deletes') or ('invalidate' if s.get('invalidate_hard_deletes') else snapshot_hard_deletes()) -%}
        {{ return({
            'unique_key': s.get('unique_key') or config.get('unique_key'),
            'updated_at': s.get('updated_at'),
            'row_changed': s.get('row_changed'),
            'scd_id': s.get('scd_id'),
            'hard_deletes': hard_deletes,
        }) }}
    {%- endif -%}
{% endmacro %}

{#- timestamp: a row changed when its updated_at is newer than the current
    version's valid_from. -#}
{% macro snapshot_timestamp_strategy(existing_relation, source_sql) %}
    {%- set updated_at = config.get('updated_at') -%}
    {%- if not updated_at -%}
        {{ exceptions.raise_compiler_error("snapshot " ~ model.name ~ " uses the timestamp strategy and needs an updated_at config") }}
    {%- endif -%}
    {%- set columns = get_snapshot_table_column_names() -%}
    {%- set row_changed -%}
        (snapshotted_data.{{ columns.dbt_valid_from }} < source_data.{{ updated_at }})
    {%- endset -%}
    {{ return(snapshot_strategy_result(updated_at, row_changed)) }}
{% endmacro %}

{#- check: a row changed when any checked column differs (NULLs count);
    with check_cols 'all', a column new to the query marks every row. -#}
{% macro snapshot_check_strategy(existing_relation, source_sql) %}
    {%- set check_cols_config = config.get('check_cols') -%}
    {%- if not check_cols_config -%}
        {{ exceptions.raise_compiler_error("snapshot " ~ model.name ~ " uses the check strategy and needs a check_cols config ('all' or a list)") }}
    {%- endif -%}
    {%- set updated_at = config.get('updated_at') or snapshot_get_time() -%}
    {%- set column_added = [] -%}
    {%- if check_cols_config == 'all' -%}
        {%- set check_cols = [] -%}
        {%- set existing = [] -%}
        {%- if existing_relation is not none -%}
            {%- for col in adapter.get_columns_in_relation(existing_relation) -%}
                {%- do existing.append(col.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- for name in get_columns_in_query(source_sql) -%}
            {%- if existing_relation is none or (name | lower) in existing -%}
                {%- do check_cols.append(adapter.quote(name)) -%}
            {%- else -%}
                {%- do column_added.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {%- set check_cols = check_cols_config -%}
    {%- endif -%}
    {%- set row_changed -%}
    (
        {%- if column_added -%}
            true
        {%- else -%}
        {%- for col in check_cols %}
        snapshotted_data.{{ col }} != source_data.{{ col }}
        or ((snapshotted_data.{{ col }} is null) != (source_data.{{ col }} is null))
        {%- if not loop.last %} or{% endif %}
        {%- endfor %}
        {%- endif %}
    )
    {%- endset -%}
    {{ return(snapshot_strategy_result(updated_at, row_changed)) }}
{% endmacro %}

{#- What both strategies hand the materialization: the key, the change
    time, when a row changed, and each version's id (key + change time). -#}
{% macro snapshot_strategy_result(updated_at, row_changed) %}
    {%- set keys = unique_key_list_of(config.get('unique_key')) -%}
    {{ return({
        'unique_key': config.get('unique_key'),
        'updated_at': updated_at,
        'row_changed': row_changed,
        'scd_id': snapshot_hash_arguments(keys + [updated_at]),
        'hard_deletes': snapshot_hard_deletes(),
    }) }}
{% endmacro %}

{#- A snapshot whose key is not unique in its query would corrupt history
    (two current versions of one key); stop before touching the table. -#}
{% macro snapshot_check_unique_key(strategy, source_sql) %}
    {%- set keys = unique_key_list_of(strategy.unique_key) -%}
    {%- set dupes = run_query("select " ~ (keys | join(', ')) ~ ", count(*) as n from (" ~ source_sql ~ ") as __dbt_sbq group by " ~ (keys | join(", ")) ~ " having count(*) > 1 limit 3") -%}
    {%- if dupes.rows | length > 0 -%}
        {%- set examples = [] -%}
        {%- for row in dupes.rows -%}
            {%- set parts = [] -%}
            {%- for k in keys -%}
                {%- do parts.append(k ~ '=' ~ row[loop.index0]) -%}
            {%- endfor -%}
            {%- do examples.append((parts | join(', ')) ~ ' (' ~ row[keys | length] ~ ' rows)') -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error("snapshot " ~ model.name ~ ": unique_key " ~ (keys | join(', ')) ~ " is not unique in the snapshot's query, e.g. " ~ (examples | join('; ')) ~ ". The snapshot table was not changed; make the key unique (or deduplicate the query).") }}
    {%- endif -%}
{% endmacro %}

{% macro snapshot_unique_key_columns(unique_key) -%}
    {%- for k in unique_key_list_of(unique_key) -%}
        {{ k }} as dbt_unique_key_{{ loop.index }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro snapshot_unique_key_join(unique_key, left, right) -%}
    {%- for k in unique_key_list_of(unique_key) -%}
        {{ left }}.dbt_unique_key_{{ loop.index }} = {{ right }}.dbt_unique_key_{{ loop.index }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The expression for "still current": NULL, or dbt_valid_to_current. -#}
{% macro snapshot_is_current(relation_alias, columns) -%}
    {%- set current = config.get('dbt_valid_to_current') -%}
    {%- if current -%}
        ({{ relation_alias }}.{{ columns.dbt_valid_to }} = {{ current }} or {{ relation_alias }}.{{ columns.dbt_valid_to }} is null)
    {%- else -%}
        {{ relation_alias }}.{{ columns.dbt_valid_to }} is null
    {%- endif -%}
{%- endmacro %}

{% macro snapshot_open_valid_to(updated_at) -%}
    {%- set current = config.get('dbt_valid_to_current') -%}
    {%- if current -%}
        coalesce(nullif({{ updated_at }}, {{ updated_at }}), {{ current }})
    {%- else -%}
        nullif({{ updated_at }}, {{ updated_at }})
    {%- endif -%}
{%- endmacro %}

{#- The first version of the table: every row current. -#}
{% macro build_snapshot_table(strategy, sql) %}
    {%- set columns = get_snapshot_table_column_names() -%}
    select *,
        {{ strategy.scd_id }} as {{ columns.dbt_scd_id }},
        {{ strategy.updated_at }} as {{ columns.dbt_updated_at }},
        {{ strategy.updated_at }} as {{ columns.dbt_valid_from }},
        {{ snapshot_open_valid_to(strategy.updated_at) }} as {{ columns.dbt_valid_to }}
        {%- if strategy.hard_deletes == 'new_record' %},
        'False' as {{ columns.dbt_is_deleted }}
        {%- endif %}
    from (
        {{ sql }}
    ) sbq
{% endmacro %}

{#- The changes since the last run, one row each, marked insert, update
    (closes the current version) or delete (closes a vanished key). -#}
{% macro snapshot_staging_table(strategy, source_sql, target_relation) %}
    {%- set columns = get_snapshot_table_column_names() -%}
    {%- set new_record = strategy.hard_deletes == 'new_record' -%}
    {%- set key = strategy.unique_key -%}
    with snapshot_query as (
        {{ source_sql }}
    ),
    snapshotted_data as (
        select *, {{ snapshot_unique_key_columns(key) }}
        from {{ target_relation }} as snapshotted_target
        where {{ snapshot_is_current('snapshotted_target', columns) }}
    ),
    insertions_source_data as (
        select *, {{ snapshot_unique_key_columns(key) }},
            {{ strategy.updated_at }} as {{ columns.dbt_updated_at }},
            {{ strategy.updated_at }} as {{ columns.dbt_valid_from }},
            {{ snapshot_open_valid_to(strategy.updated_at) }} as {{ columns.dbt_valid_to }},
            {{ strategy.scd_id }} as {{ columns.dbt_scd_id }}
        from snapshot_query
    ),
    updates_source_data as (
        select *, {{ snapshot_unique_key_columns(key) }},
            {{ strategy.updated_at }} as {{ columns.dbt_updated_at }},
            {{ strategy.updated_at }} as {{ columns.dbt_valid_from }},
            {{ strategy.updated_at }} as {{ columns.dbt_valid_to }}
        from snapshot_query
    ),
    {%- if strategy.hard_deletes in ['invalidate', 'new_record'] %}
    deletes_source_data as (
        select *, {{ snapshot_unique_key_columns(key) }}
        from snapshot_query
    ),
    {%- endif %}
    insertions as (
        select 'insert' as dbt_change_type, source_data.*
            {%- if new_record %}, 'False' as {{ columns.dbt_is_deleted }}{% endif %}
        from insertions_source_data as source_data
        left outer join snapshotted_data
            on {{ snapshot_unique_key_join(key, 'snapshotted_data', 'source_data') }}
        where snapshotted_data.dbt_unique_key_1 is null
           or (snapshotted_data.dbt_unique_key_1 is not null and (
                {{ strategy.row_changed }}
                {%- if new_record %} or snapshotted_data.{{ columns.dbt_is_deleted }} = 'True'{% endif %}
           ))
    ),
    updates as (
        select 'update' as dbt_change_type, source_data.*,
            snapshotted_data.{{ columns.dbt_scd_id }}
            {%- if new_record %}, snapshotted_data.{{ columns.dbt_is_deleted }}{% endif %}
        from updates_source_data as source_data
        join snapshotted_data
            on {{ snapshot_unique_key_join(key, 'snapshotted_data', 'source_data') }}
        where (
            {{ strategy.row_changed }}
            {%- if new_record %} or snapshotted_data.{{ columns.dbt_is_deleted }} = 'True'{% endif %}
        )
    )
    {%- if strategy.hard_deletes in ['invalidate', 'new_record'] %},
    deletes as (
        select 'delete' as dbt_change_type, source_data.*,
            {{ snapshot_get_time() }} as {{ columns.dbt_updated_at }},
            {{ snapshot_get_time() }} as {{ columns.dbt_valid_from }},
            {{ snapshot_get_time() }} as {{ columns.dbt_valid_to }},
            snapshotted_data.{{ columns.dbt_scd_id }}
            {%- if new_record %}, snapshotted_data.{{ columns.dbt_is_deleted }}{% endif %}
        from snapshotted_data
        left join deletes_source_data as source_data
            on {{ snapshot_unique_key_join(key, 'snapshotted_data', 'source_data') }}
        where source_data.dbt_unique_key_1 is null
        {%- if new_record %}
          and coalesce(snapshotted_data.{{ columns.dbt_is_deleted }}, 'False') != 'True'
        {%- endif %}
    )
    {%- endif %}
    {%- if new_record %},
    {#- A deletion record gets an id of its own (key, time, 'deleted'), so
        every version's dbt_scd_id stays unique. -#}
    {%- set deleted_keys = snapshot_unique_key_refs(key, 'snapshotted_data') -%}
    {%- set deleted_scd_args = deleted_keys + [snapshot_get_time(), "'deleted'"] %}
    deletion_records as (
        select 'insert' as dbt_change_type,
            {%- for name in get_columns_in_query(source_sql) %}
            snapshotted_data.{{ adapter.quote(name) }},
            {%- endfor %}
            {{ deleted_keys | join(', ') }},
            {{ snapshot_get_time() }} as {{ columns.dbt_updated_at }},
            {{ snapshot_get_time() }} as {{ columns.dbt_valid_from }},
            {{ snapshot_open_valid_to(snapshot_get_time()) }} as {{ columns.dbt_valid_to }},
            {{ snapshot_hash_arguments(deleted_scd_args) }} as {{ columns.dbt_scd_id }},
            'True' as {{ columns.dbt_is_deleted }}
        from snapshotted_data
        left join deletes_source_data as source_data
            on {{ snapshot_unique_key_join(key, 'snapshotted_data', 'source_data') }}
        where source_data.dbt_unique_key_1 is null
          and coalesce(snapshotted_data.{{ columns.dbt_is_deleted }}, 'False') != 'True'
    )
    {%- endif %}
    select * from insertions
    union all
    select * from updates
    {%- if strategy.hard_deletes in ['invalidate', 'new_record'] %}
    union all
    select * from deletes
    {%- endif %}
    {%- if new_record %}
    union all
    select * from deletion_records
    {%- endif %}
{% endmacro %}

{#- `alias.dbt_unique_key_1`, ...: the staged key columns of a relation. -#}
{% macro snapshot_unique_key_refs(unique_key, relation_alias) -%}
    {%- set refs = [] -%}
    {%- for k in unique_key_list_of(unique_key) -%}
        {%- do refs.append(relation_alias ~ '.dbt_unique_key_' ~ loop.index) -%}
    {%- endfor -%}
    {{ return(refs) }}
{%- endmacro %}

{#- Columns new to the query are added to the table before merging. -#}
{% macro snapshot_add_new_columns(staging_relation, target_relation) %}
    {%- set existing = [] -%}
    {%- for col in adapter.get_columns_in_relation(target_relation) -%}
        {%- do existing.append(col.name | lower) -%}
    {%- endfor -%}
    {%- for col in adapter.get_columns_in_relation(staging_relation) -%}
        {%- set name = col.name | lower -%}
        {%- if name not in existing and name != 'dbt_change_type' and not name.startswith('dbt_unique_key') -%}
            {% call statement('add_snapshot_column') -%}
                alter table {{ target_relation }} add column {{ adapter.quote(col.name) }} {{ col.data_type }}
            {%- endcall %}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{#- Can the warehouse keep a snapshot in this table format? (Spark: only
    formats that merge.) -#}
{% macro snapshot_check_table_format() -%}
    {{ return(adapter.dispatch('snapshot_check_table_format', 'dbt')()) }}
{%- endmacro %}

{% macro default__snapshot_check_table_format() -%}
{%- endmacro %}

{#- Closes the versions that changed or vanished, then inserts the new ones. -#}
{% macro snapshot_merge_sql(target, source, insert_cols) -%}
    {{ return(adapter.dispatch('snapshot_merge_sql', 'dbt')(target, source, insert_cols)) }}
{%- endmacro %}

{% macro default__snapshot_merge_sql(target, source, insert_cols) -%}
    {%- set columns = get_snapshot_table_column_names() -%}
    update {{ target }} as DBT_INTERNAL_TARGET
    set {{ columns.dbt_valid_to }} = DBT_INTERNAL_SOURCE.{{ columns.dbt_valid_to }}
    from {{ source }} as DBT_INTERNAL_SOURCE
    where DBT_INTERNAL_SOURCE.{{ columns.dbt_scd_id }}::text = DBT_INTERNAL_TARGET.{{ columns.dbt_scd_id }}::text
      and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update', 'delete')
      and {{ snapshot_is_current('DBT_INTERNAL_TARGET', columns) }};

    insert into {{ target }} ({{ insert_cols | join(', ') }})
    select {% for column in insert_cols -%}
        DBT_INTERNAL_SOURCE.{{ column }}{{ ', ' if not loop.last }}
    {%- endfor %}
    from {{ source }} as DBT_INTERNAL_SOURCE
    where DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert';
{%- endmacro %}
