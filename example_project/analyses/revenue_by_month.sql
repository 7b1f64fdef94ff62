select
    date_trunc('month', ordered_at) as month,
    sum(amount_paid) as revenue
from {{ ref('orders') }}
group by 1
order by 1
