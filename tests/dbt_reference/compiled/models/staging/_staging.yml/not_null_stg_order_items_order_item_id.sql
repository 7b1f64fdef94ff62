
    
    



select order_item_id
from "shop"."main"."stg_order_items"
where order_item_id is null


