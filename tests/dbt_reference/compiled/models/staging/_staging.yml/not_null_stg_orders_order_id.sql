
    
    



select order_id
from "shop"."main"."stg_orders"
where order_id is null


