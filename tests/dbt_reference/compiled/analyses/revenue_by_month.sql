select
    date_trunc('month', ordered_at) as month,
    sum(amount_paid) as revenue
from "shop"."main_marts"."orders"
group by 1
order by 1