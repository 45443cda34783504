-- Split the rows a split takes (`split_taken`) into one part per weighted target, exactly:
-- the amounts of each part and its row's lineage (insert_split_parts adds the rest of its
-- row's columns).
-- Each part is round(amount × ratio, 10); the part with the largest ratio (ties: target name)
-- takes the remainder, so the parts of a row add up to it to the last decimal. Which part that
-- is depends only on the partition's ratios, so it is ranked once per partition.
-- grain: one row per (taken allocated row, target)
-- {partition_key} is built from checked identifiers only.
create or replace temp table split_part_amounts as
with
taken as (
    select a.rowid as allocated_row, t.taken_again, l.lineage_id,
           {partition_key} as partition_key,
           a.BilledCost as billed, a.EffectiveCost as effective, a.ListCost as list
    from split_rows a
    join split_taken t on t.allocated_row = a.rowid
    join split_lineages l
      on l.x_dimensions = a.x_dimensions
     and l.AllocatedMethodDetails is not distinct from a.AllocatedMethodDetails
     and l.x_split_ratio = a.x_split_ratio
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
        t.allocated_row, t.taken_again, t.lineage_id, t.partition_key,
        t.billed, t.effective, t.list,
        r.target, r.ratio, r.quantity, r.part_rank,
        round(t.billed * r.ratio, 10) as billed_part,
        round(t.effective * r.ratio, 10) as effective_part,
        round(t.list * r.ratio, 10) as list_part
    from taken t
    join ratios r using (partition_key)
),
exact as (
    select
        allocated_row, taken_again, lineage_id, partition_key, target, ratio, quantity,
        case when part_rank = 1
             then billed - coalesce(sum(billed_part) filter (where part_rank > 1)
                                    over (partition by allocated_row), 0)
             else billed_part end as billed,
        case when part_rank = 1
             then effective - coalesce(sum(effective_part) filter (where part_rank > 1)
                                       over (partition by allocated_row), 0)
             else effective_part end as effective,
        case when part_rank = 1
             then list - coalesce(sum(list_part) filter (where part_rank > 1)
                                  over (partition by allocated_row), 0)
             else list_part end as list
    from parts
)
select * from exact
