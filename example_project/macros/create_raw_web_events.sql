{#- on-run-start hook: a small, deterministic clickstream that the
    `web` source reads, standing in for an ingestion tool. -#}
{% macro create_raw_web_events(n=500) -%}
create schema if not exists raw;
create table if not exists raw.web_events as
select
    i as event_id,
    cast(i % 20 + 1 as integer) as customer_id,
    ['page_view', 'add_to_cart', 'checkout'][cast(i % 3 as integer) + 1] as event_type,
    timestamp '2024-01-01 00:00:00' + to_seconds(i * 3607) as occurred_at
from range({{ n }}) as t(i)
{%- endmacro %}
