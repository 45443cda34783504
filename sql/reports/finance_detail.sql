-- Allocated cost rows of a range of billing periods: the Detail sheet and the `allocated` extract.
-- grain: one row per (line item, allocation target)
select *
from allocated_line_items
where x_billing_period between $first_period and $last_period
order by x_billing_period, x_source, x_line_item_id, x_split_rule nulls first, environment,
         workstream, cost_type
