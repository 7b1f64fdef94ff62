{#- external (dbt-duckdb): the model's rows are written to a file with
    COPY ... TO (parquet by default, csv or json), and a view of the same
    name reads the file back, so refs and tests work. The file is written
    beside the old one and moved into place only once complete: a failure
    leaves the previous file. Relative paths start at the project directory. -#}
{% materialization external, adapter='duckdb' %}
    {%- set options = config.get('options') or {} -%}
    {%- set partition_by = config.get('partition_by') or options.get('partition_by') -%}
    {%- set location = adapter.project_path(config.get('location') or external_location(this, external_format(none), partition_by)) -%}
    {%- set format = external_format(location) -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- set temp_relation = make_temp_relation(this) -%}
    {%- set written = location ~ '.kiln-new' -%}

    {{ external_format_available(format) }}

    {{ run_hooks(pre_hooks, inside_transaction=false) }}
    {{ run_hooks(pre_hooks, inside_transaction=true) }}

    {% call statement('main') -%}
        {{ get_create_table_as_sql(true, temp_relation, sql) }}
    {%- endcall %}
    {% do adapter.prepare_write(written) %}
    {% call statement('write_external') -%}
        copy {{ temp_relation }} to '{{ written | replace("'", "''") }}' ({{ external_write_options(format, partition_by, options) }})
    {%- endcall %}
    {% do adapter.move_into_place(written, location) %}

    {%- if existing_relation is not none and existing_relation.type != 'view' -%}
        {{ adapter.drop_relation(existing_relation) }}
    {%- endif -%}
    {% call statement('create_external_view') -%}
        create or replace view {{ target_relation }} as select * from {{ external_read(location, format, partition_by) }}
    {%- endcall %}
    {% call statement('drop_temp') -%}
        drop table if exists {{ temp_relation }}
    {%- endcall %}

    {{ finish_materialization(target_relation) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- `<external_root>/<name>.<format>`, or a directory when partitioned. -#}
{% macro external_location(relation, format, partition_by=none) -%}
    {{- adapter.external_root() }}/{{ relation.identifier }}{{ '.' ~ format if not partition_by }}
{%- endmacro %}

{#- The format: configured, or told by the location's extension. -#}
{% macro external_format(location) -%}
    {%- set configured = config.get('format') -%}
    {%- if configured -%}
        {{ return(configured | lower) }}
    {%- endif -%}
    {%- for ext in ['parquet', 'csv', 'json'] if location and (location | lower).endswith('.' ~ ext) -%}
        {{ return(ext) }}
    {%- endfor -%}
    {{ return('parquet') }}
{%- endmacro %}

{#- COPY's options: the format, a CSV header and delimiter, partitions,
    then the model's `options` as written. -#}
{% macro external_write_options(format, partition_by, options) -%}
    {%- set parts = ['format ' ~ format] -%}
    {%- if format == 'csv' -%}
        {%- do parts.append('header true') -%}
        {%- do parts.append("delimiter '" ~ (config.get('delimiter') or ',') ~ "'") -%}
    {%- endif -%}
    {%- if partition_by -%}
        {%- set columns = [partition_by] if partition_by is string else partition_by -%}
        {%- do parts.append('partition_by (' ~ columns | join(', ') ~ ')') -%}
    {%- endif -%}
    {%- for key, value in options.items() if key not in ['partition_by', 'format', 'header', 'delimiter'] -%}
        {%- do parts.append(key ~ ' ' ~ (value if value is number or value is boolean else "'" ~ value ~ "'")) -%}
    {%- endfor -%}
    {{- parts | join(', ') -}}
{%- endmacro %}

{#- The table function that reads the written file (or partitions) back. -#}
{% macro external_read(location, format, partition_by) -%}
    {%- set path = location ~ '/**/*.' ~ format if partition_by else location -%}
    {%- set quoted = "'" ~ (path | replace("'", "''")) ~ "'" -%}
    {%- set hive = ', hive_partitioning = true' if partition_by else '' -%}
    {%- if format == 'csv' -%}
        read_csv({{ quoted }}, header = true, delim = '{{ config.get('delimiter') or ',' }}'{{ hive }})
    {%- elif format == 'json' -%}
        read_json({{ quoted }}{{ hive }})
    {%- else -%}
        read_parquet({{ quoted }}{{ hive }})
    {%- endif -%}
{%- endmacro %}

{#- parquet and json need DuckDB extensions of those names (the bundled
    DuckDB has neither built in); say so plainly when they are missing. -#}
{% macro external_format_available(format) -%}
    {%- if format in ['parquet', 'json'] -%}
        {%- set found = run_query("select count(*) from duckdb_extensions() where extension_name = '" ~ format ~ "' and (loaded or installed)").rows[0][0] -%}
        {%- if found == 0 -%}
            {% do exceptions.raise_compiler_error(
                "external model " ~ model.name ~ ": format '" ~ format ~ "' needs DuckDB's " ~ format
                ~ " extension, which is not installed: list it under `extensions:` in profiles.yml"
                ~ " (DuckDB downloads it once), or use format='csv'") %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
