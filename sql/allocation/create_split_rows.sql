-- The allocated rows some split may take, kept apart from `allocated_costs` while the splits
-- replace them with their parts (deleting rows already written to `allocated_costs` in the
-- same transaction would make DuckDB rewrite them at commit). Published by
-- publish_split_rows. Besides allocated_costs' columns it keeps the line-item columns a split's
-- `within` may partition by that allocated_costs does not ({split_columns}: `, li.<column>` for
-- each of allocation.splits.SPLIT_ROW_COLUMNS).
-- grain: one row per (line item, allocation target), like allocated_costs
create or replace temp table split_rows as
select a.* {split_columns}
from allocated_costs a, line_items li
limit 0
