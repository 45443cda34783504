-- Split the rows a split takes (`split_taken`) into one part per weighted target, exactly,
-- and add the parts to `split_rows` (delete_split_taken then removes the rows they replace).
-- Each part is round(amount × ratio, 10); the part with the largest ratio (ties: target name)
-- takes the remainder, so the parts of a row add up to it to the last decimal. Which part that
-- is depends only on the partition's ratios, so it is ranked once per partition.
-- grain: one row per (taken allocated row, target)
-- {partition_key} and the `replace` list are built from checked identifiers only.
insert into split_rows by name
with
taken as (
    select a.rowid as allocated_row, {partition_key} as partition_key, a.*
    from split_rows a
    where a.rowid in (select allocated_row from split_taken)
),
ratios as (
    select partition_key, target, quantity, ratio,
           row_number() over (partition by partition_key order by ratio desc, target) as part_rank
    from (
        select partition_key, target, quantity,
               -- a double carries ~15 exact digits: keep those, so 1/3 reads 0.333333333333333;
               -- summed in target order, so a rerun adds the doubles up the same way
               (weight / sum(weight) over (partition by partition_key order by target
                                           rows between unbounded preceding
                                           and unbounded following))::decimal(38, 15)
                   ::decimal(38, 18) as ratio
        from split_weights
    )
),
parts as (
    select
        t.*,
        r.target, r.ratio, r.quantity, r.part_rank,
        round(t.BilledCost * r.ratio, 10) as billed_part,
        round(t.EffectiveCost * r.ratio, 10) as effective_part,
        round(t.ListCost * r.ratio, 10) as list_part
    from taken t
    join ratios r using (partition_key)
),
others as (
    select allocated_row,
           coalesce(sum(billed_part) filter (where part_rank > 1), 0) as billed_others,
           coalesce(sum(effective_part) filter (where part_rank > 1), 0) as effective_others,
           coalesce(sum(list_part) filter (where part_rank > 1), 0) as list_others
    from parts
    group by allocated_row
),
exact as (
    select
        p.*,
        case when p.part_rank = 1 then p.BilledCost - o.billed_others
             else p.billed_part end as billed,
        case when p.part_rank = 1 then p.EffectiveCost - o.effective_others
             else p.effective_part end as effective,
        case when p.part_rank = 1 then p.ListCost - o.list_others
             else p.list_part end as list
    from parts p
    join others o using (allocated_row)
)
select
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
