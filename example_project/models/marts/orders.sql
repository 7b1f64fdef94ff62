{{ config(tags=['finance']) }}

with orders as (
    select * from {{ ref('stg_orders') }}
),

payments as (
    select * from {{ ref('int_order_payments') }}
),

items as (
    select * from {{ ref('int_order_items') }}
)

select
    orders.order_id,
    orders.customer_id,
    orders.ordered_at,
    orders.status,
    items.item_count,
    items.items_value,
    {% for method in var('payment_methods') -%}
    coalesce(payments.{{ method }}_amount, 0) as {{ method }}_amount,
    {% endfor -%}
    coalesce(payments.total_paid, 0) as amount_paid
from orders
left join payments using (order_id)
left join items using (order_id)
