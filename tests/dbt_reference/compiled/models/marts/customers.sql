with customers as (
    select * from "shop"."main"."stg_customers"
),

order_summary as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(amount_paid) filter (where status != 'returned') as lifetime_value
    from "shop"."main_marts"."orders"
    group by customer_id
),

web as (
    select customer_id, count(*) as web_events
    from "shop"."main"."stg_web_events"
    group by customer_id
)

select
    customers.customer_id,
    customers.full_name,
    customers.city,
    order_summary.first_order_at,
    order_summary.last_order_at,
    coalesce(order_summary.order_count, 0) as order_count,
    coalesce(order_summary.lifetime_value, 0) as lifetime_value,
    coalesce(web.web_events, 0) as web_events
from customers
left join order_summary using (customer_id)
left join web using (customer_id)