{#- dbt-spark's statements (work in progress): tables are written with
    `using <file_format>` (parquet by default); parquet tables cannot be
    replaced in place, so an existing one is dropped first. Temporary
    relations are session-scoped temporary views. -#}

{% macro spark__file_format() -%}
    {{ return((config.get('file_format') or 'parquet') | lower) }}
{%- endmacro %}

{% macro spark__create_table_as(temporary, relation, sql, language='sql') -%}
    {%- if temporary -%}
        create or replace temporary view {{ relation }} as
{{ sql }}
    {%- else -%}
        {%- set file_format = spark__file_format() -%}
        {%- set partition_by = config.get('partition_by') -%}
        {%- set clustered_by = config.get('clustered_by') -%}
        {%- set location_root = config.get('location_root') -%}
        {%- set properties = config.get('tblproperties') or {} -%}
        {%- set options = config.get('options') or {} -%}
        {{ 'create or replace' if file_format in ['delta', 'iceberg', 'hudi'] else 'create' }} table {{ relation }}
        using {{ file_format }}
        {%- if options %} options ({% for k, v in options.items() %}'{{ k }}' = '{{ v }}'{{ ', ' if not loop.last }}{% endfor %}){% endif %}
        {%- if partition_by %} partitioned by ({{ ([partition_by] if partition_by is string else partition_by) | join(', ') }}){% endif %}
        {%- if clustered_by %} clustered by ({{ ([clustered_by] if clustered_by is string else clustered_by) | join(', ') }}) into {{ config.get('buckets') }} buckets{% endif %}
        {%- if location_root %} location '{{ location_root }}/{{ relation.identifier }}'{% endif %}
        {%- if properties %} tblproperties ({% for k, v in properties.items() %}'{{ k }}' = '{{ v }}'{{ ', ' if not loop.last }}{% endfor %}){% endif %}
        as
{{ sql }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__create_view_as(relation, sql) -%}
    create or replace view {{ relation }} as
{{ sql }}
{%- endmacro %}

{% macro spark__replace_with_table(existing_relation, target_relation, sql) -%}
    {%- if existing_relation is not none and (existing_relation.type != 'table' or spark__file_format() not in ['delta', 'iceberg', 'hudi']) -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(false, target_relation, sql) }}
    {%- endcall %}
{%- endmacro %}

{% macro spark__drop_relation(relation) -%}
    {%- call statement('drop_relation') -%}
        drop {{ 'view' if relation.type == 'view' else 'table' }} if exists {{ relation }}
    {%- endcall -%}
{%- endmacro %}

{% macro spark__truncate_relation(relation) -%}
    {%- call statement('truncate_relation') -%}
        truncate table {{ relation }}
    {%- endcall -%}
{%- endmacro %}

{% macro spark__rename_relation(from_relation, to_relation) -%}
    {%- call statement('rename_relation') -%}
        alter {{ 'view' if from_relation.type == 'view' else 'table' }} {{ from_relation }} rename to {{ to_relation }}
    {%- endcall -%}
{%- endmacro %}

{% macro spark__current_timestamp() -%}
    current_timestamp()
{%- endmacro %}
