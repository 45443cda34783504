-- Load a partition's rows from Parquet files (the FOCUS and x_ columns without the partition's
-- own `x_source` and `x_billing_period`, which the load supplies), inside its transaction.
-- $offset moves the files' line item ids past the line items of the files staged before them
-- (a file staged on its own numbers its line items from 1; flows/file_staging.py).
-- grain: one row per line item
insert into line_items by name
select * replace (x_line_item_id + $offset as x_line_item_id),
       $source as x_source, $period as x_billing_period
from read_parquet($paths, hive_partitioning = false)
