-- Add the parts of the rows a split takes, with the rest of their row's columns: to
-- `split_rows` when a later split may take the line item again ({taken_again} = true), else
-- straight to `allocated_costs`, so they are written once, where they end up.
-- delete_split_taken then removes the rows the parts replace.
-- grain: one row per (taken allocated row, target)
-- {target} is a fixed table name; the `replace` list is built from checked identifiers only.
insert into {target} by name
select
    a.* replace (
        e.billed as BilledCost,
        e.effective as EffectiveCost,
        e.list as ListCost,
        json_merge_patch(a.x_dimensions, json_object($dimension, e.target)) as x_dimensions,
        $split_id as x_split_rule,
        $method as x_split_method,
        $basis_name as x_split_basis,
        (a.x_split_ratio * e.ratio)::decimal(38, 18) as x_split_ratio,
        e.quantity as x_driver_quantity,
        $split_id as AllocatedMethodId,
        json_merge_patch(a.AllocatedMethodDetails, json_object(
            'AllocatedRatio', (a.x_split_ratio * e.ratio)::decimal(38, 18)::varchar,
            'UsageQuantity', e.quantity::varchar, 'UsageUnit', $usage_unit,
            'x_split', json_object('rule', $split_id, 'method', $method, 'basis', $basis_name,
                                   'dimension', $dimension, 'target', e.target,
                                   'ratio', e.ratio::varchar))) as AllocatedMethodDetails
        {dimension_replace}
      )
from split_part_amounts e
join split_rows a on a.rowid = e.allocated_row
where e.taken_again = {taken_again}
