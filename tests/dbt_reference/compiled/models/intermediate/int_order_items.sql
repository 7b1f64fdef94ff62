select
    i.order_id,
    sum(i.quantity) as item_count,
    sum(i.quantity * p.price) as items_value
from "shop"."main"."stg_order_items" as i
join "shop"."main"."stg_products" as p using (product_id)
group by i.order_id