-- `fallback: even`: partitions whose targets all carry zero basis share evenly instead.
-- grain: one row per (partition without weights, target)
insert into split_weights
with
taken as (
    select distinct {partition_key} as partition_key
    from split_rows a
    semi join split_candidates c
        on c.split_index = $split_index
       and c.x_source = a.x_source and c.x_line_item_id = a.x_line_item_id
    where a.x_billing_period = $period
)
select t.partition_key, u.target, 1.0 as weight, null as quantity
from taken t
cross join (select unnest($targets::varchar[]) as target) u
where t.partition_key not in (select partition_key from split_weights)
