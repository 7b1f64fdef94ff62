select
    id as payment_id,
    order_id,
    payment_method,
    round(cast(amount_cents as decimal(18, 2)) / 100, 2) as amount
from "shop"."main_raw"."raw_payments"