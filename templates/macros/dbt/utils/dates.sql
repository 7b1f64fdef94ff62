{#- Date arithmetic under portable names. -#}

{% macro dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}

{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
    dateadd(
        {{ datepart }},
        {{ interval }},
        {{ from_date_or_timestamp }}
    )
{%- endmacro %}

{% macro datediff(first_date, second_date, datepart) -%}
    {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{%- endmacro %}

{% macro default__datediff(first_date, second_date, datepart) -%}
    datediff(
        {{ datepart }},
        {{ first_date }},
        {{ second_date }}
    )
{%- endmacro %}

{% macro date_trunc(datepart, date) -%}
    {{ return(adapter.dispatch('date_trunc', 'dbt')(datepart, date)) }}
{%- endmacro %}

{% macro default__date_trunc(datepart, date) -%}
    date_trunc('{{ datepart }}', {{ date }})
{%- endmacro %}

{#- The last day of the period that holds `date`: the period's start, one
    period on, one day back. -#}
{% macro last_day(date, datepart) -%}
    {{ return(adapter.dispatch('last_day', 'dbt')(date, datepart)) }}
{%- endmacro %}

{%- macro default_last_day(date, datepart) -%}
    cast(
        {{ dbt.dateadd('day', '-1', dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))) }}
        as date)
{%- endmacro -%}

{% macro default__last_day(date, datepart) -%}
    {{ dbt.default_last_day(date, datepart) }}
{%- endmacro %}

{#- A date literal from its parts (dbt 1.9). -#}
{% macro date(year, month, day) -%}
    {{ return(adapter.dispatch('date', 'dbt')(year, month, day)) }}
{%- endmacro %}

{% macro default__date(year, month, day) -%}
    {%- set iso = modules.datetime.date(year, month, day).strftime('%Y-%m-%d') -%}
    to_date('{{ iso }}', 'YYYY-MM-DD')
{%- endmacro %}

{#- The current time; its _backcompat variants keep what dbt_utils'
    deprecated versions returned. -#}
{%- macro current_timestamp() -%}
    {{ adapter.dispatch('current_timestamp', 'dbt')() }}
{%- endmacro -%}

{% macro default__current_timestamp() -%}
    {{ exceptions.raise_not_implemented('current_timestamp is not implemented for adapter ' ~ adapter.type()) }}
{%- endmacro %}

{% macro current_timestamp_backcompat() -%}
    {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{%- endmacro %}

{% macro default__current_timestamp_backcompat() -%}
    {{ "\n    " }}current_timestamp::timestamp
{%- endmacro %}

{% macro current_timestamp_in_utc_backcompat() -%}
    {{ return(adapter.dispatch('current_timestamp_in_utc_backcompat', 'dbt')()) }}
{%- endmacro %}

{% macro default__current_timestamp_in_utc_backcompat() -%}
    {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{%- endmacro %}

{#- Python-side date helpers some packages call (partition ranges). -#}
{% macro convert_datetime(date_str, date_fmt) -%}
    {%- set error_msg -%}
        The provided partition date '{{ date_str }}' does not match the expected format '{{ date_fmt }}'
    {%- endset -%}
    {{ return(try_or_compiler_error(error_msg, modules.datetime.datetime.strptime, date_str.strip(), date_fmt)) }}
{%- endmacro %}

{% macro dates_in_range(start_date_str, end_date_str=none, in_fmt="%Y%m%d", out_fmt="%Y%m%d") -%}
    {%- set end_date_str = start_date_str if end_date_str is none else end_date_str -%}
    {%- set start_date = convert_datetime(start_date_str, in_fmt) -%}
    {%- set end_date = convert_datetime(end_date_str, in_fmt) -%}
    {%- set day_count = (end_date - start_date).days -%}
    {%- if day_count < 0 -%}
        {{ exceptions.raise_compiler_error("Partition start date is after the end date (" ~ start_date ~ ", " ~ end_date ~ ")", model) }}
    {%- endif -%}
    {%- set date_list = [] -%}
    {%- for i in range(0, day_count + 1) -%}
        {%- set the_date = modules.datetime.timedelta(days=i) + start_date -%}
        {%- do date_list.append(the_date.strftime(out_fmt) if out_fmt else the_date) -%}
    {%- endfor -%}
    {{ return(date_list) }}
{%- endmacro %}

{% macro partition_range(raw_partition_date, date_fmt='%Y%m%d') -%}
    {%- set parts = (raw_partition_date | string).split(',') -%}
    {%- if parts | length == 1 -%}
        {{ return(dates_in_range(parts[0], none, in_fmt=date_fmt)) }}
    {%- elif parts | length == 2 -%}
        {{ return(dates_in_range(parts[0], parts[1], in_fmt=date_fmt)) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("Invalid partition time. Expected format: {Start Date}[,{End Date}]. Got: " ~ raw_partition_date) }}
    {%- endif -%}
{%- endmacro %}

{% macro py_current_timestring() -%}
    {{ return(modules.datetime.datetime.now().strftime('%Y%m%d%H%M%S%f')) }}
{%- endmacro %}
