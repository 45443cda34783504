-- The allocated rows some split may take, kept apart from `allocated_costs` while the splits
-- replace them with their parts (deleting rows already written to `allocated_costs` in the
-- same transaction would make DuckDB rewrite them at commit). Published by
-- publish_split_rows.
-- grain: one row per (line item, allocation target), like allocated_costs
create or replace temp table split_rows as
select * from allocated_costs limit 0
