select
    id as product_id,
    name as product_name,
    category,
    round(cast(price_cents as decimal(18, 2)) / 100, 2) as price
from "shop"."main_raw"."raw_products"