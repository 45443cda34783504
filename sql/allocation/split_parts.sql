-- Split the rows a split takes into one part per weighted target, exactly.
-- Each part is round(amount × ratio, 10); the part with the largest ratio (ties: target name)
-- takes the remainder, so the parts of a row add up to it to the last decimal.
-- grain: one row per (taken allocated row, target)
-- {partition_key} and the `replace` list are built from checked identifiers only.
create or replace temp table split_parts as
with
taken as (
    select a.rowid as allocated_row, {partition_key} as partition_key, a.*
    from allocated_costs a
    semi join split_candidates c
        on c.split_index = $split_index
       and c.x_source = a.x_source and c.x_line_item_id = a.x_line_item_id
    where a.x_billing_period = $period
),
ratios as (
    select partition_key, target, quantity,
           -- a double carries ~15 exact digits: keep those, so 1/3 reads 0.333333333333333
           (weight / sum(weight) over (partition by partition_key))::decimal(38, 15)
               ::decimal(38, 18) as ratio
    from split_weights
),
parts as (
    select
        t.*,
        r.target, r.ratio, r.quantity,
        round(t.BilledCost * r.ratio, 10) as billed_part,
        round(t.EffectiveCost * r.ratio, 10) as effective_part,
        round(t.ListCost * r.ratio, 10) as list_part,
        row_number() over (partition by t.allocated_row order by r.ratio desc, r.target) as part_rank
    from taken t
    join ratios r using (partition_key)
),
exact as (
    select
        *,
        case when part_rank = 1
             then BilledCost - (sum(billed_part) over (partition by allocated_row) - billed_part)
             else billed_part end as billed,
        case when part_rank = 1
             then EffectiveCost - (sum(effective_part) over (partition by allocated_row)
                                   - effective_part)
             else effective_part end as effective,
        case when part_rank = 1
             then ListCost - (sum(list_part) over (partition by allocated_row) - list_part)
             else list_part end as list
    from parts
)
select
    allocated_row,
    * exclude (allocated_row, partition_key, target, ratio, quantity, billed_part, effective_part,
               list_part, part_rank, billed, effective, list)
      replace (
        billed as BilledCost,
        effective as EffectiveCost,
        list as ListCost,
        json_merge_patch(x_dimensions, json_object($dimension, target)) as x_dimensions,
        $split_id as x_split_rule,
        $method as x_split_method,
        $basis_name as x_split_basis,
        (x_split_ratio * ratio)::decimal(38, 18) as x_split_ratio,
        quantity as x_driver_quantity,
        $split_id as AllocatedMethodId,
        json_merge_patch(AllocatedMethodDetails, json_object(
            'AllocatedRatio', (x_split_ratio * ratio)::decimal(38, 18)::varchar,
            'UsageQuantity', quantity::varchar, 'UsageUnit', $usage_unit,
            'x_split', json_object('rule', $split_id, 'method', $method, 'basis', $basis_name,
                                   'dimension', $dimension, 'target', target,
                                   'ratio', ratio::varchar))) as AllocatedMethodDetails
        {dimension_replace}
      )
from exact
