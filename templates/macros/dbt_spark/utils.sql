{#- dbt's cross-database macros in Spark SQL (Spark 3.4+). -#}

{% macro spark__current_timestamp() -%}
    current_timestamp()
{%- endmacro %}

{% macro spark__current_timestamp_backcompat() -%}
    current_timestamp()
{%- endmacro %}

{% macro spark__snapshot_get_time() -%}
    current_timestamp()
{%- endmacro %}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{#- Boundaries crossed, as dbt's datediff counts them on every warehouse. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'day' -%}
        datediff(to_date({{ second_date }}), to_date({{ first_date }}))
    {%- elif datepart == 'week' -%}
        cast(datediff(date_trunc('week', {{ second_date }}), date_trunc('week', {{ first_date }})) / 7 as bigint)
    {%- elif datepart in ['month', 'quarter', 'year'] -%}
        {%- set months = '((year(' ~ second_date ~ ') - year(' ~ first_date ~ ')) * 12 + month(' ~ second_date ~ ') - month(' ~ first_date ~ '))' -%}
        {%- if datepart == 'month' -%}
            {{ months }}
        {%- elif datepart == 'quarter' -%}
            ((year({{ second_date }}) - year({{ first_date }})) * 4 + quarter({{ second_date }}) - quarter({{ first_date }}))
        {%- else -%}
            (year({{ second_date }}) - year({{ first_date }}))
        {%- endif -%}
    {%- else -%}
        timestampdiff({{ datepart }}, date_trunc('{{ datepart }}', {{ first_date }}), date_trunc('{{ datepart }}', {{ second_date }}))
    {%- endif -%}
{%- endmacro %}

{% macro spark__date(year, month, day) -%}
    {%- set iso = modules.datetime.date(year, month, day).strftime('%Y-%m-%d') -%}
    to_date('{{ iso }}', 'yyyy-MM-dd')
{%- endmacro %}

{% macro spark__last_day(date, datepart) -%}
    {%- if datepart == 'month' -%}
        last_day({{ date }})
    {%- else -%}
        {{ dbt.default_last_day(date, datepart) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__any_value(expression) -%}
    first({{ expression }})
{%- endmacro %}

{% macro spark__bool_or(expression) -%}
    max({{ expression }})
{%- endmacro %}

{% macro spark__concat(fields) -%}
    concat({{ fields | join(', ') }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#- Spark escapes a quote with a backslash: they're → they\'re. -#}
{% macro spark__escape_single_quotes(expression) -%}
    {{ expression | replace("'", "\\'") }}
{%- endmacro %}

{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{#- Spark 4's listagg keeps `within group (order by ...)`; with a limit the
    values are collected and sliced (in no set order). -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        array_join(slice(collect_list({{ measure }}), 1, {{ limit_num }}), {{ delimiter_text }})
    {%- else -%}
        listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
    {%- endif -%}
{%- endmacro %}

{% macro spark__array_construct(inputs, data_type) -%}
    array({{ inputs | join(', ') }})
{%- endmacro %}

{% macro spark__array_concat(array_1, array_2) -%}
    concat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}

{% macro spark__array_append(array, new_element) -%}
    concat({{ array }}, array({{ new_element }}))
{%- endmacro %}
