{#- dbt-spark's statements. Tables are written `using <file_format>` when
    one is configured (Spark's default, parquet, otherwise). Spark has no
    transactions: a parquet table is rebuilt under an intermediate name and
    renamed into place, so a failed build leaves the previous table; delta,
    iceberg and hudi replace in place (`create or replace table`).
    Temporary relations are session-scoped temporary views. -#}

{% macro spark__file_format() -%}
    {{ return((config.get('file_format') or 'parquet') | lower) }}
{%- endmacro %}

{#- Table formats that replace and merge in place. -#}
{% macro spark__is_transactional_format(file_format) -%}
    {{ return(file_format in ['delta', 'iceberg', 'hudi']) }}
{%- endmacro %}

{% macro spark__options_clause() -%}
    {%- set options = config.get('options') or {} -%}
    {%- if options %}
    options ({% for k, v in options.items() %}{{ k }} '{{ v | replace("'", "\\'") }}'{{ ', ' if not loop.last }}{% endfor %})
    {%- endif %}
{%- endmacro %}

{% macro spark__partition_cols(label) -%}
    {%- set cols = config.get('partition_by') -%}
    {%- if cols %}
    {{ label }} ({{ ([cols] if cols is string else cols) | join(', ') }})
    {%- endif %}
{%- endmacro %}

{% macro spark__clustered_cols() -%}
    {%- set cols = config.get('clustered_by') -%}
    {%- if cols and config.get('buckets') is not none %}
    clustered by ({{ ([cols] if cols is string else cols) | join(', ') }}) into {{ config.get('buckets') }} buckets
    {%- endif %}
{%- endmacro %}

{% macro spark__location_clause(relation) -%}
    {%- if config.get('location_root') %}
    location '{{ config.get('location_root') }}/{{ relation.identifier }}'
    {%- endif %}
{%- endmacro %}

{% macro spark__tblproperties_clause() -%}
    {%- set properties = config.get('tblproperties') or {} -%}
    {%- if properties %}
    tblproperties ({% for k, v in properties.items() %}'{{ k }}' = '{{ v | replace("'", "\\'") }}'{{ ', ' if not loop.last }}{% endfor %})
    {%- endif %}
{%- endmacro %}

{% macro spark__comment_clause() -%}
    {%- if config.persist_relation_docs() and model.description %}
    comment '{{ model.description | replace("\\", "\\\\") | replace("'", "\\'") }}'
    {%- endif %}
{%- endmacro %}

{% macro spark__create_table_as(temporary, relation, sql, language='sql') -%}
    {%- if temporary -%}
    create or replace temporary view {{ relation }} as
{{ sql }}
    {%- else -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header ~ ';' if sql_header is not none }}
    {%- set contract = config.get('contract') or {} %}
    {{ 'create or replace' if spark__is_transactional_format(spark__file_format()) else 'create' }} table {{ relation }}
    {%- if config.get('file_format') %}
    using {{ config.get('file_format') }}
    {%- endif %}
    {{- spark__options_clause() }}
    {{- spark__partition_cols('partitioned by') }}
    {{- spark__clustered_cols() }}
    {{- spark__location_clause(relation) }}
    {{- spark__comment_clause() }}
    {{- spark__tblproperties_clause() }}
    as
    {%- if contract.get('enforced') %}
    select {{ contract_column_names() }} from (
{{ sql }}
    ) as model_subq
    {%- else %}
{{ sql }}
    {%- endif %}
    {%- endif -%}
{%- endmacro %}

{% macro spark__create_view_as(relation, sql) -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header ~ ';' if sql_header is not none }}
    create or replace view {{ relation }}
    {{- spark__comment_clause() }}
    as
{{ sql }}
{%- endmacro %}

{#- Spark cannot replace a parquet table in place: the new one is built
    under an intermediate name, the old one dropped and the new one renamed
    in, so until the rename readers see the previous table, and a failed
    build leaves it. A table with its own location (location_root) keeps its
    name's path, and a partitioned one would keep its partitions' old paths
    through a rename: those are dropped and created, as dbt-spark does. -#}
{% macro spark__replace_with_table(existing_relation, target_relation, sql) -%}
    {%- set in_place = spark__is_transactional_format(spark__file_format()) -%}
    {%- if existing_relation is not none and existing_relation.type != 'table' -%}
        {{ adapter.drop_relation(existing_relation) }}
        {%- set existing_relation = none -%}
    {%- endif -%}
    {%- if existing_relation is none or in_place -%}
        {% call statement('main') -%}
            {{ get_create_table_as_sql(false, target_relation, sql) }}
        {%- endcall %}
    {%- elif config.get('location_root') or config.get('partition_by') -%}
        {{ adapter.drop_relation(existing_relation) }}
        {% call statement('main') -%}
            {{ get_create_table_as_sql(false, target_relation, sql) }}
        {%- endcall %}
    {%- else -%}
        {%- set intermediate = make_intermediate_relation(target_relation) -%}
        {{ drop_relation_if_exists(load_relation(intermediate)) }}
        {% call statement('main') -%}
            {{ get_create_table_as_sql(false, intermediate, sql) }}
        {%- endcall %}
        {{ adapter.drop_relation(existing_relation) }}
        {{ adapter.rename_relation(intermediate, target_relation) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__create_schema(relation) -%}
    {%- call statement('create_schema') -%}
        create schema if not exists {{ relation.without_identifier() }}
    {%- endcall -%}
{%- endmacro %}

{% macro spark__drop_schema(relation) -%}
    {%- call statement('drop_schema') -%}
        drop schema if exists {{ relation.without_identifier() }} cascade
    {%- endcall -%}
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

{#- Descriptions of columns, as Spark's `alter table ... alter column ...
    comment`; the relation's own is written by create (comment clause). -#}
{% macro spark__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- if for_columns and config.persist_column_docs() and model.columns and relation.type != 'view' -%}
        {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- for column in model.columns.values() if column.description and column.name | lower in existing -%}
            {%- call statement('persist_column_docs') -%}
                alter table {{ relation }} alter column {{ adapter.quote(column.name) }} comment '{{ column.description | replace("\\", "\\\\") | replace("'", "\\'") }}'
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark has no grants of its own (Databricks' are dbt-databricks'). -#}
{% macro spark__apply_grants(relation, grant_config, should_revoke=true) -%}
    {%- if grant_config -%}
        {% do exceptions.warn("grants on " ~ relation ~ " are ignored: open-source Spark has no grants") %}
    {%- endif -%}
{%- endmacro %}
