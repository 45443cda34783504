-- Load a partition's rows from Parquet files (the FOCUS and x_ columns without the partition's
-- own `x_source` and `x_billing_period`, which the load supplies), inside its transaction.
-- grain: one row per line item
insert into line_items by name
select *, $source as x_source, $period as x_billing_period
from read_parquet($paths, hive_partitioning = false)
