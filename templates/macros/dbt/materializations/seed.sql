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
        {{ type_seed_columns_as_dbt(target_relation) }}
    {%- else -%}
        {{ seed_columns_must_match(run_query('describe select * from ' ~ csv).columns[0].values(), existing_relation) }}
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
    {#- The types dbt's CSV reader (agate) can give: it has no TIME. -#}
    {{ return("read_csv('" ~ (path | replace("'", "''")) ~ "', header = true, delim = '" ~ delimiter ~ "'"
              ~ ", auto_type_candidates = ['BOOLEAN', 'BIGINT', 'DOUBLE', 'DATE', 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'VARCHAR']"
              ~ (", types = {" ~ types ~ "}" if column_types else "") ~ ")") }}
{%- endmacro %}

{#- DuckDB's reader gives whole numbers BIGINT; dbt makes them INTEGER (and
    a column with no values INTEGER too), and timestamps carry no zone. The
    columns are changed in place, so every downstream type matches dbt's;
    whole numbers too big for INTEGER stay BIGINT (dbt would fail). -#}
{% macro type_seed_columns_as_dbt(relation) -%}
    {%- set configured = (config.get('column_types') or {}).keys() | map('lower') | list -%}
    {%- set changes = [] -%}
    {%- set verdicts = [] -%}
    {%- for col in adapter.get_columns_in_relation(relation) if col.name | lower not in configured -%}
        {%- set quoted = adapter.quote(col.name) -%}
        {%- if col.dtype == 'BIGINT' -%}
            {%- do changes.append([quoted, 'integer']) -%}
            {%- do verdicts.append('coalesce(min(' ~ quoted ~ ') >= -2147483648 and max(' ~ quoted ~ ') <= 2147483647, true)') -%}
        {%- elif col.dtype == 'VARCHAR' -%}
            {%- do changes.append([quoted, 'integer']) -%}
            {%- do verdicts.append('count(' ~ quoted ~ ') = 0') -%}
        {%- elif col.dtype == 'TIMESTAMP WITH TIME ZONE' -%}
            {%- do changes.append([quoted, 'timestamp']) -%}
            {%- do verdicts.append('true') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if changes -%}
        {%- set row = run_query('select ' ~ (verdicts | join(', ')) ~ ' from ' ~ relation).rows[0] -%}
        {%- for change in changes -%}
            {%- if row[loop.index0] -%}
                {% call statement('type_seed_column') -%}
                    alter table {{ relation }} alter column {{ change[0] }} type {{ change[1] }}
                {%- endcall %}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- A re-run loads into the existing table: its columns must be the file's. -#}
{% macro seed_columns_must_match(csv_columns, existing_relation) -%}
    {%- set csv_columns = csv_columns | map('lower') | list -%}
    {%- set table_columns = adapter.get_columns_in_relation(existing_relation) | map(attribute='name') | map('lower') | list -%}
    {%- if csv_columns != table_columns -%}
        {% do exceptions.raise_compiler_error(
            "the columns of " ~ model.original_file_path ~ " (" ~ csv_columns | join(', ')
            ~ ") differ from those of " ~ existing_relation ~ " (" ~ table_columns | join(', ')
            ~ "); run with --full-refresh to recreate the table") %}
    {%- endif -%}
{%- endmacro %}

{#- A seed column's detected kind (integer, bigint, float, boolean, date,
    datetime, text) as the warehouse's type, for warehouses whose seeds kiln
    loads through the connection (DuckDB reads the CSV itself). -#}
{% macro seed_column_type(kind) -%}
    {{ return(adapter.dispatch('seed_column_type', 'dbt')(kind)) }}
{%- endmacro %}

{#- A seed table's columns: each detected column with its warehouse type,
    or the type `column_types` gives it. -#}
{% macro seed_table_columns(columns, column_types) -%}
    {%- for c in columns %}
    {{ adapter.quote(c.name) }} {{ column_types[c.name] if c.name in column_types else seed_column_type(c.kind) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
