select
    id as customer_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    lower(email) as email,
    city,
    zip_code,
    cast(signed_up_at as date) as signed_up_at
from "shop"."main_raw"."raw_customers"