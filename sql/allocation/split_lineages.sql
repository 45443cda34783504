-- The distinct lineages among the rows a split takes: their dimensions, lineage JSON and split
-- ratio so far. A month's taken rows share a few hundred, so each part's new JSON is built
-- once per (lineage, partition, target) instead of once per part (insert_split_parts).
-- grain: one row per lineage
create or replace temp table split_lineages as
select row_number() over () as lineage_id, *
from (
    select distinct a.x_dimensions, a.AllocatedMethodDetails, a.x_split_ratio
    from split_rows a
    join split_taken t on t.allocated_row = a.rowid
)
