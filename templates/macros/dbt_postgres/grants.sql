{#- grants: `grants: {select: [reporter, analyst]}`. What the relation has
    is read back and compared, so grants taken out of the config are
    revoked and new ones granted, as dbt-postgres does. -#}
{% macro postgres__apply_grants(relation, grant_config, should_revoke=true) -%}
    {%- if grant_config -%}
        {%- set current = {} -%}
        {%- if should_revoke -%}
            {%- set rows = run_query(
                "select lower(privilege_type::text), grantee::text from information_schema.role_table_grants"
                ~ " where grantor = current_role and grantee != current_role"
                ~ " and table_schema = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'") -%}
            {%- for row in rows -%}
                {%- do current.update({row[0]: (current.get(row[0]) or []) + [row[1]]}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set statements = [] -%}
        {%- for privilege, had in current.items() -%}
            {%- set gone = postgres__grantees_missing(had, postgres__grantee_list(grant_config.get(privilege))) -%}
            {%- if gone -%}
                {%- do statements.append('revoke ' ~ privilege ~ ' on ' ~ relation ~ ' from ' ~ gone | join(', ')) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for privilege, grantees in grant_config.items() -%}
            {%- set new = postgres__grantees_missing(postgres__grantee_list(grantees), current.get(privilege | lower) or []) -%}
            {%- if new -%}
                {%- do statements.append('grant ' ~ privilege ~ ' on ' ~ relation ~ ' to ' ~ new | join(', ')) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for sql in statements -%}
            {% call statement('grants') %}{{ sql }}{% endcall %}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{%- macro postgres__grantee_list(grantees) -%}
    {%- if grantees is none -%}
        {{ return([]) }}
    {%- elif grantees is string -%}
        {{ return([grantees]) }}
    {%- else -%}
        {{ return(grantees | list) }}
    {%- endif -%}
{%- endmacro -%}

{#- The grantees of `grantees` that `among` lacks (role names compare
    without case), quoted. -#}
{%- macro postgres__grantees_missing(grantees, among) -%}
    {%- set known = among | map('lower') | list -%}
    {%- set missing = [] -%}
    {%- for grantee in grantees if grantee | lower not in known -%}
        {%- do missing.append(adapter.quote(grantee)) -%}
    {%- endfor -%}
    {{ return(missing) }}
{%- endmacro -%}
