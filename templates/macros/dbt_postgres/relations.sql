{#- dbt-postgres's statements for creating, renaming and dropping relations.
    PostgreSQL truncates identifiers at 63 bytes, so the names of
    intermediate relations keep their suffix and cut the model's name. -#}

{%- macro postgres__relation_with_suffix(base_relation, suffix, with_time=false) -%}
    {%- if with_time -%}
        {#- Temporary tables of parallel runs must not collide. -#}
        {%- set suffix = suffix ~ modules.datetime.datetime.now().strftime('%H%M%S%f') -%}
    {%- endif -%}
    {%- if suffix | length > 63 -%}
        {% do exceptions.raise_compiler_error('the relation suffix ' ~ suffix ~ ' is longer than PostgreSQL\'s 63-character names') %}
    {%- endif -%}
    {%- set identifier = base_relation.identifier[:63 - (suffix | length)] ~ suffix -%}
    {{ return(base_relation.incorporate(path={'identifier': identifier})) }}
{%- endmacro -%}

{% macro postgres__make_temp_relation(base_relation, suffix) %}
    {#- Temporary tables live in the session's own schema: no schema named. -#}
    {%- set identifier = postgres__relation_with_suffix(base_relation, suffix, with_time=true).identifier -%}
    {{ return(api.Relation.create(identifier=identifier, type='table').include(database=false, schema=false)) }}
{% endmacro %}

{% macro postgres__make_intermediate_relation(base_relation, suffix) %}
    {{ return(postgres__relation_with_suffix(base_relation, suffix)) }}
{% endmacro %}

{% macro postgres__make_backup_relation(base_relation, backup_relation_type, suffix) %}
    {{ return(postgres__relation_with_suffix(base_relation, suffix).incorporate(type=backup_relation_type)) }}
{% endmacro %}

{% macro postgres__create_table_as(temporary, relation, sql, language='sql') -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {%- set unlogged = config.get('unlogged', false) -%}
    {%- set kind = 'temporary ' if temporary else ('unlogged ' if unlogged else '') -%}
    {{ sql_header if sql_header is not none }}
    {%- set contract = config.get('contract') or {} -%}
    {%- if contract.get('enforced') and not temporary %}
    {{ create_contracted_table('create ' ~ kind ~ 'table', relation, sql) }}
    {%- else %}
    create {{ kind }}table {{ relation }} as (
{{ sql }}
    )
    {%- endif %}
{%- endmacro %}

{% macro postgres__create_view_as(relation, sql) -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    create view {{ relation }} as (
{{ sql }}
    )
{%- endmacro %}

{% macro postgres__truncate_relation(relation) -%}
    {%- call statement('truncate_relation') -%}
        truncate table {{ relation }}
    {%- endcall -%}
{%- endmacro %}

{#- indexes: [{columns: [...], unique: true, type: hash}], named after a
    hash of what they index, as dbt-postgres names them. -#}
{% macro postgres__create_indexes(relation) -%}
    {%- for index in config.get('indexes') or [] -%}
        {%- set columns = index.get('columns') or [] -%}
        {%- if columns is string -%}{%- set columns = [columns] -%}{%- endif -%}
        {%- if not columns -%}
            {% do exceptions.raise_compiler_error('every entry of `indexes` needs `columns`: ' ~ tojson(index)) %}
        {%- endif -%}
        {%- set name = local_md5(columns | join('_') ~ '_' ~ index.get('unique', false) ~ '_' ~ index.get('type', '') ~ '_' ~ relation.identifier ~ '_' ~ modules.datetime.datetime.now().isoformat()) -%}
        {%- call statement('create_index') -%}
            create {{ 'unique ' if index.get('unique') }}index if not exists {{ adapter.quote(name) }}
            on {{ relation }} {{ 'using ' ~ index.get('type') if index.get('type') }} ({{ columns | join(', ') }})
        {%- endcall -%}
    {%- endfor -%}
{%- endmacro %}

{#- PostgreSQL names a schema without its database. -#}
{% macro postgres__create_schema(relation) -%}
    {%- call statement('create_schema') -%}
        create schema if not exists {{ relation.without_identifier().include(database=false) }}
    {%- endcall -%}
{%- endmacro %}

{% macro postgres__drop_schema(relation) -%}
    {%- call statement('drop_schema') -%}
        drop schema if exists {{ relation.without_identifier().include(database=false) }} cascade
    {%- endcall -%}
{%- endmacro %}

{#- Constraints PostgreSQL enforces: DuckDB's, and foreign keys, given as
    `to` + `to_columns` or as an `expression` ("other_table (id)"). -#}
{% macro postgres__constraint_sql(c, columns=none) -%}
    {%- if c.type == 'foreign_key' -%}
        {%- set cols = '(' ~ (columns | join(', ')) ~ ') ' if columns else '' -%}
        {%- set target = c.to ~ ' (' ~ (c.to_columns or []) | join(', ') ~ ')' if c.to else c.expression -%}
        {%- if target -%}
            {{ 'foreign key ' ~ cols if columns }}references {{ target }}
        {%- else -%}
            {% do exceptions.raise_compiler_error("the foreign_key constraint of " ~ model.name ~ " names no table: give `to` and `to_columns`, or an `expression`") %}
        {%- endif -%}
    {%- else -%}
        {{ default__constraint_sql(c, columns) }}
    {%- endif -%}
{%- endmacro %}
