{#- One amount column per payment method in var('payment_methods'). -#}
{% macro pivot_payment_methods(amount_column) -%}
    {%- set columns = [] -%}
    {%- for method in var('payment_methods') -%}
        {%- do columns.append(
            "sum(case when payment_method = '" ~ method ~ "' then " ~ amount_column ~ " else 0 end) as " ~ method ~ "_amount"
        ) -%}
    {%- endfor -%}
    {{ columns | join(",\n    ") }}
{%- endmacro %}
