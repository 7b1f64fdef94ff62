
    
    



select product_id
from "shop"."main"."stg_products"
where product_id is null


