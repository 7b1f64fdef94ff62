{#- Payments rolled up to one row per order, split by method. -#}
select
    order_id,
    {{ pivot_payment_methods('amount') }},
    sum(amount) as total_paid,
    count(*) as payment_count
from {{ ref('stg_payments') }}
group by order_id
