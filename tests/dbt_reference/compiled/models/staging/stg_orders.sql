select
    id as order_id,
    customer_id,
    cast(ordered_at as date) as ordered_at,
    status
from "shop"."main_raw"."raw_orders"
where cast(ordered_at as date) >= date '2024-01-01'