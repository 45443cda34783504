-- FOCUS line items of one billing period, for extracts and the FOCUS validator.
-- grain: one row per line item
select *
from line_items
where x_billing_period = $period
order by x_source, x_line_item_id
