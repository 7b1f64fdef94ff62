{#- The statements that build models. -#}

{% macro get_create_table_as_sql(temporary, relation, sql) -%}
    {{ return(adapter.dispatch('get_create_table_as_sql', 'dbt')(temporary, relation, sql)) }}
{%- endmacro %}

{% macro default__get_create_table_as_sql(temporary, relation, sql) -%}
    {{ return(create_table_as(temporary, relation, sql)) }}
{%- endmacro %}

{% macro create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {{ return(adapter.dispatch('create_table_as', 'dbt')(temporary, relation, compiled_code, language)) }}
{%- endmacro %}

{#- Replacing inside the run's transaction is atomic in DuckDB: until the
    commit, readers keep seeing the previous table. -#}
{% macro default__create_table_as(temporary, relation, sql, language='sql') -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    {%- set contract = config.get('contract') or {} -%}
    {%- if contract.get('enforced') and not temporary %}
    {{ create_contracted_table('create or replace table', relation, sql) }}
    {%- else %}
    create {% if temporary %}temporary table{% else %}or replace table{% endif %} {{ relation }} as (
{{ sql }}
    )
    {%- endif %}
{%- endmacro %}

{#- A contracted model: the declared columns, types and constraints, then
    the query's rows (kiln has checked the columns already). -#}
{% macro create_contracted_table(create, relation, sql) -%}
    {{ create }} {{ relation }} (
        {{ table_columns_and_constraints() }}
    );
    insert into {{ relation }} ({{ contract_column_names() }})
    select {{ contract_column_names() }} from (
{{ sql }}
    ) as model_subq
{%- endmacro %}

{% macro contract_column_names() -%}
    {%- for col in model.columns.values() -%}
        {{ adapter.quote(col.name) }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- Column and model constraints DuckDB enforces (not_null, unique,
    primary_key, check, custom); foreign keys are reported and left out,
    since a referenced table could then never be rebuilt. -#}
{% macro constraint_sql(c, columns=none) -%}
    {{ return(adapter.dispatch('constraint_sql', 'dbt')(c, columns)) }}
{%- endmacro %}

{% macro default__constraint_sql(c, columns=none) -%}
    {%- set cols = '(' ~ (columns | join(', ')) ~ ')' if columns else '' -%}
    {%- if c.type == 'not_null' and not columns -%} not null
    {%- elif c.type == 'unique' -%} unique {{ cols }}
    {%- elif c.type == 'primary_key' -%} primary key {{ cols }}
    {%- elif c.type == 'check' -%} check ({{ c.expression }})
    {%- elif c.type == 'custom' -%} {{ c.expression }}
    {%- else -%}
        {{ log("warning: the " ~ c.type ~ " constraint of " ~ model.name ~ " is not enforced on " ~ adapter.type(), info=True) }}
    {%- endif -%}
{%- endmacro %}

{% macro table_columns_and_constraints() -%}
    {%- set parts = [] -%}
    {%- for col in model.columns.values() -%}
        {%- set text = [adapter.quote(col.name) ~ ' ' ~ col.data_type] -%}
        {%- for c in col.constraints or [] -%}
            {%- set one = constraint_sql(c) | trim -%}
            {%- if one -%}{%- do text.append(one) -%}{%- endif -%}
        {%- endfor -%}
        {%- do parts.append(text | join(' ')) -%}
    {%- endfor -%}
    {%- for c in model.constraints or [] -%}
        {%- set one = constraint_sql(c, c.columns) | trim -%}
        {%- if one and c.type != 'not_null' -%}{%- do parts.append(one) -%}{%- endif -%}
    {%- endfor -%}
    {{ parts | join(',\n        ') }}
{%- endmacro %}

{% macro get_create_view_as_sql(relation, sql) -%}
    {{ return(adapter.dispatch('get_create_view_as_sql', 'dbt')(relation, sql)) }}
{%- endmacro %}

{% macro default__get_create_view_as_sql(relation, sql) -%}
    {{ return(create_view_as(relation, sql)) }}
{%- endmacro %}

{% macro create_view_as(relation, sql) -%}
    {{ return(adapter.dispatch('create_view_as', 'dbt')(relation, sql)) }}
{%- endmacro %}

{% macro default__create_view_as(relation, sql) -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    create or replace view {{ relation }} as (
{{ sql }}
    )
{%- endmacro %}

{#- persist_docs: descriptions as table and column comments. -#}
{% macro persist_docs(relation, model, for_relation=true, for_columns=true) -%}
    {{ return(adapter.dispatch('persist_docs', 'dbt')(relation, model, for_relation, for_columns)) }}
{%- endmacro %}

{% macro default__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- call statement('persist_relation_docs') -%}
            comment on {{ relation_kind_sql(relation) }} {{ relation }} is '{{ model.description | replace("'", "''") }}'
        {%- endcall -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- for column in model.columns.values() if column.description and column.name | lower in existing -%}
            {%- call statement('persist_column_docs') -%}
                comment on column {{ relation }}.{{ adapter.quote(column.name) }} is '{{ column.description | replace("'", "''") }}'
            {%- endcall -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- DuckDB has no grants: say so once per model that asks for them. -#}
{% macro apply_grants(relation, grant_config, should_revoke=true) -%}
    {{ return(adapter.dispatch('apply_grants', 'dbt')(relation, grant_config, should_revoke)) }}
{%- endmacro %}

{% macro default__apply_grants(relation, grant_config, should_revoke=true) -%}
    {%- if grant_config -%}
        {% do exceptions.warn("grants on " ~ relation ~ " are ignored: DuckDB has no grants") %}
    {%- endif -%}
{%- endmacro %}
