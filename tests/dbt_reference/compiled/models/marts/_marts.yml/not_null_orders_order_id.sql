
    
    



select order_id
from "shop"."main_marts"."orders"
where order_id is null


