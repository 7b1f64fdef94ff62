

with  __dbt__cte__int_order_payments as (
select
    order_id,
    sum(case when payment_method = 'credit_card' then amount else 0 end) as credit_card_amount,
    sum(case when payment_method = 'bank_transfer' then amount else 0 end) as bank_transfer_amount,
    sum(case when payment_method = 'coupon' then amount else 0 end) as coupon_amount,
    sum(case when payment_method = 'gift_card' then amount else 0 end) as gift_card_amount,
    sum(amount) as total_paid,
    count(*) as payment_count
from "shop"."main"."stg_payments"
group by order_id
),  __dbt__cte__int_order_items as (
select
    i.order_id,
    sum(i.quantity) as item_count,
    sum(i.quantity * p.price) as items_value
from "shop"."main"."stg_order_items" as i
join "shop"."main"."stg_products" as p using (product_id)
group by i.order_id
), orders as (
    select * from "shop"."main"."stg_orders"
),

payments as (
    select * from __dbt__cte__int_order_payments
),

items as (
    select * from __dbt__cte__int_order_items
)

select
    orders.order_id,
    orders.customer_id,
    orders.ordered_at,
    orders.status,
    items.item_count,
    items.items_value,
    coalesce(payments.credit_card_amount, 0) as credit_card_amount,
    coalesce(payments.bank_transfer_amount, 0) as bank_transfer_amount,
    coalesce(payments.coupon_amount, 0) as coupon_amount,
    coalesce(payments.gift_card_amount, 0) as gift_card_amount,
    coalesce(payments.total_paid, 0) as amount_paid
from orders
left join payments using (order_id)
left join items using (order_id)