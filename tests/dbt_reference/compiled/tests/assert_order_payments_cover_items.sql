-- An order that was completed must be paid in full: payments never fall
-- short of the value of its items.
select order_id, items_value, amount_paid
from "shop"."main_marts"."orders"
where status = 'completed'
  and amount_paid < items_value