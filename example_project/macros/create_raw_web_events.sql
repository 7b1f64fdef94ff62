{#- on-run-start hook: a small, deterministic clickstream that the
    `web` source reads, standing in for an ingestion tool. Written in SQL
    that DuckDB and PostgreSQL both run. -#}
{% macro create_raw_web_events(n=500) -%}
create schema if not exists raw;
create table if not exists raw.web_events as
select
    i as event_id,
    cast(i % 20 + 1 as integer) as customer_id,
    case i % 3 when 0 then 'page_view' when 1 then 'add_to_cart' else 'checkout' end as event_type,
    timestamp '2024-01-01 00:00:00' + i * 3607 * interval '1 second' as occurred_at
from generate_series(0, {{ n - 1 }}) as t(i)
{%- endmacro %}
