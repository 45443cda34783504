-- Allocated cost rows of one billing period, for finance extracts.
-- grain: one row per (line item, allocation target)
select *
from allocated_line_items
where x_billing_period = $period
order by x_source, x_line_item_id, x_split_rule nulls first
