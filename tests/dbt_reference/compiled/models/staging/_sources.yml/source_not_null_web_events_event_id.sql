
    
    



select event_id
from "shop"."raw"."web_events"
where event_id is null


