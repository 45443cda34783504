-- One period's allocated rows with the line-item columns a split's `within` may partition by
-- that allocated_costs does not keep ({split_columns}: `, li.<column>` for each of
-- allocation.splits.SPLIT_ROW_COLUMNS): what a proportional split partitioned by one of them
-- weighs (proportional_weights reads it in place of allocated_costs).
-- grain: one row per (line item, allocation target)
select a.* {split_columns}
from allocated_costs a
join line_items li
  on li.x_source = a.x_source
 and li.x_billing_period = a.x_billing_period
 and li.x_line_item_id = a.x_line_item_id
where a.x_billing_period = $period
