{#- Portable type names (dbt.type_string() and friends). Each asks
    api.Column, so an adapter's labels apply. -#}

{%- macro type_string() -%}
    {{ return(adapter.dispatch('type_string', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_string() -%}
    {{ return(api.Column.translate_type('string')) }}
{%- endmacro -%}

{%- macro type_timestamp() -%}
    {{ return(adapter.dispatch('type_timestamp', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_timestamp() -%}
    {{ return(api.Column.translate_type('timestamp')) }}
{%- endmacro -%}

{%- macro type_float() -%}
    {{ return(adapter.dispatch('type_float', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_float() -%}
    {{ return(api.Column.translate_type('float')) }}
{%- endmacro -%}

{#- numeric with dbt's default precision and scale. -#}
{%- macro type_numeric() -%}
    {{ return(adapter.dispatch('type_numeric', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_numeric() -%}
    {{ return(api.Column.numeric_type('numeric', 28, 6)) }}
{%- endmacro -%}

{%- macro type_bigint() -%}
    {{ return(adapter.dispatch('type_bigint', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_bigint() -%}
    {{ return(api.Column.translate_type('bigint')) }}
{%- endmacro -%}

{%- macro type_int() -%}
    {{ return(adapter.dispatch('type_int', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_int() -%}
    {{ return(api.Column.translate_type('integer')) }}
{%- endmacro -%}

{%- macro type_boolean() -%}
    {{ return(adapter.dispatch('type_boolean', 'dbt')()) }}
{%- endmacro -%}

{%- macro default__type_boolean() -%}
    {{ return(api.Column.translate_type('boolean')) }}
{%- endmacro -%}
