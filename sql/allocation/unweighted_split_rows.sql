-- Rows a split would take whose partition has no target with a weight: they cannot be split.
-- grain: one row per such partition
select {partition_key} as partition_key, count(*) as row_count, sum(a.BilledCost) as billed
from split_rows a
semi join split_candidates c
    on c.split_index = $split_index
   and c.x_source = a.x_source and c.x_line_item_id = a.x_line_item_id
where a.x_billing_period = $period
  and {partition_key} not in (select partition_key from split_weights)
group by all
having count(*) > 0
order by billed desc
