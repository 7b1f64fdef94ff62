

select
    ordered_at as ordered_on,
    count(*) as orders,
    sum(amount_paid) as revenue
from "shop"."main_marts"."orders"

group by 1