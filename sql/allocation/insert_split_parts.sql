-- Add the parts of the rows a split takes, with the rest of their row's columns: to
-- `split_rows` when a later split may take the line item again ({taken_again} = true), else
-- straight to `allocated_costs`, so they are written once, where they end up.
-- delete_split_taken then removes the rows the parts replace.
-- grain: one row per (taken allocated row, target)
-- {target} is a fixed table name; the `replace` list is built from checked identifiers only;
-- {split_columns_excluded} leaves out split_rows' own columns (allocation.splits.SPLIT_ROW_COLUMNS)
-- when the target is allocated_costs.
insert into {target} by name
with
lineage_json as (
    select p.lineage_id, p.partition_key, p.target,
           json_merge_patch(l.x_dimensions, json_object($dimension, p.target)) as dimensions,
           (l.x_split_ratio * p.ratio)::decimal(38, 18) as split_ratio,
           json_merge_patch(l.AllocatedMethodDetails, json_object(
               'AllocatedRatio', (l.x_split_ratio * p.ratio)::decimal(38, 18)::varchar,
               'UsageQuantity', p.quantity::varchar, 'UsageUnit', $usage_unit,
               'x_split', json_object('rule', $split_id, 'method', $method,
                                      'basis', $basis_name, 'dimension', $dimension,
                                      'target', p.target, 'ratio', p.ratio::varchar)))
               as details
    from (select distinct lineage_id, partition_key, target, ratio, quantity
          from split_part_amounts
          where taken_again = {taken_again}) p
    join split_lineages l using (lineage_id)
)
select
    a.* {split_columns_excluded} replace (
        e.billed as BilledCost,
        e.effective as EffectiveCost,
        e.list as ListCost,
        j.dimensions as x_dimensions,
        $split_id as x_split_rule,
        $method as x_split_method,
        $basis_name as x_split_basis,
        j.split_ratio as x_split_ratio,
        e.quantity as x_driver_quantity,
        $split_id as AllocatedMethodId,
        j.details as AllocatedMethodDetails
        {dimension_replace}
      )
from split_part_amounts e
join split_rows a on a.rowid = e.allocated_row
join lineage_json j
  on j.lineage_id = e.lineage_id and j.partition_key = e.partition_key and j.target = e.target
where e.taken_again = {taken_again}
