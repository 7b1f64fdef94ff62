select
    id as order_item_id,
    order_id,
    product_id,
    quantity
from "shop"."main_raw"."raw_order_items"