
    
    



select email
from "shop"."main"."stg_customers"
where email is null


