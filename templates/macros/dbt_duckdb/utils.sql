{#- dbt-duckdb's versions of the cross-database macros, where DuckDB's
    SQL differs from the portable default. -#}

{#- A timestamp with time zone, as dbt-duckdb's (kiln adds the date
    arithmetic on it that DuckDB leaves to ICU: see adapter/duckdb_tz.rs). -#}
{% macro duckdb__current_timestamp() -%}
    now()
{%- endmacro %}

{% macro duckdb__any_value(expression) -%}
    arbitrary({{ expression }})
{%- endmacro %}

{% macro duckdb__date(year, month, day) -%}
    make_date({{ year }}, {{ month }}, {{ day }})
{%- endmacro %}

{#- The interval may be an expression (a column), so it multiplies an
    interval of one unit; DuckDB has no quarter interval. -#}
{#- Output laid out as dbt-duckdb's is, blank lines included: packages that
    compare generated SQL as text see the same text. -#}
{% macro duckdb__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set unit = datepart | lower -%}
    {{ "\n\n    " }}
    {%- if unit == 'quarter' -%}
        ({{ from_date_or_timestamp }} + (cast({{ interval }} as bigint) * 3) * interval 1 month)
    {%- elif unit == 'week' -%}
        ({{ from_date_or_timestamp }} + (cast({{ interval }} as bigint) * 7) * interval 1 day)
    {%- else -%}
        ({{ from_date_or_timestamp }} + cast({{ interval }} as bigint) * interval 1 {{ unit }})
    {%- endif -%}
{%- endmacro %}

{#- Weeks count boundaries crossed, as on other warehouses: whole days over
    seven, plus one when the day of week wraps. -#}
{% macro duckdb__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'week' -%}
        {{ "\n            " }}({{ datediff(first_date, second_date, 'day') }} // 7 + case
            when date_part('dow', ({{ first_date }})::timestamp) <= date_part('dow', ({{ second_date }})::timestamp) then
                case when {{ first_date }} <= {{ second_date }} then 0 else -1 end
            else
                case when {{ first_date }} <= {{ second_date }} then 1 else 0 end
        end)
    {%- else -%}
        {{ "\n        " }}(date_diff('{{ datepart }}', {{ first_date }}::timestamp, {{ second_date }}::timestamp ))
    {%- endif -%}
    {{ "\n    " }}
{%- endmacro %}

{% macro duckdb__last_day(date, datepart) -%}
    {%- if datepart == 'quarter' -%}
    cast(
        {{ dbt.dateadd('day', '-1', dbt.dateadd('month', '3', dbt.date_trunc(datepart, date))) }}
        as date)
    {%- else -%}
    {{ dbt.default_last_day(date, datepart) }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
list_aggr(
        (array_agg(
            {{ measure }}
            {{ order_by_clause or '' }}
        ))[1:{{ limit_num }}],
        'string_agg',
        {{ delimiter_text }}
        )
    {%- else -%}
    {{ "\n    " }}string_agg(
        {{ measure }},
        {{ delimiter_text }}
        {{ order_by_clause or '' }}
        )
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__split_part(string_text, delimiter_text, part_number) -%}
    {{ "\n    " }}string_split({{ string_text }}, {{ delimiter_text }})[ {{ part_number }} ]
{%- endmacro %}

{% macro duckdb__generate_series(upper_bound) %}
    select
        generate_series as generated_number
    from generate_series(1, {{ upper_bound }})
{%- endmacro %}

{% macro duckdb__snapshot_string_as_time(timestamp) -%}
    {{ return("'" ~ timestamp ~ "'::timestamp") }}
{%- endmacro %}
