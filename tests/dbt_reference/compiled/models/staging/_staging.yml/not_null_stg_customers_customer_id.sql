
    
    



select customer_id
from "shop"."main"."stg_customers"
where customer_id is null


