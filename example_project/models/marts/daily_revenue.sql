{#- Revenue per day. Later runs recompute only the last three days, so late
    payments still land in the right day without rebuilding the history. -#}
{{ config(materialized='incremental', unique_key='ordered_on') }}

select
    ordered_at as ordered_on,
    count(*) as orders,
    sum(amount_paid) as revenue
from {{ ref('orders') }}
{% if is_incremental() %}
where ordered_at >= (select max(ordered_on) from {{ this }}) - interval '3 day'
{% endif %}
group by 1
