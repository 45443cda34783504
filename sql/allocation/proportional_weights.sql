-- Proportional split: each target's weight is the basis it already carries in the period
-- (within the partition: the split's `within` columns and always BillingCurrency, so amounts
-- in two currencies never add up to one weight), counting only rows this split does not take.
-- `allocated_costs` holds no row any split may take until the splits are done; `split_rows`
-- holds those.
-- grain: one row per (partition, target)
-- {basis}, {target} and {partition_key} are checked identifiers (Split.basis, the dimension's
-- column, SPLIT_PARTITIONS; see allocation/splits.py `_partition_columns`). The allocated
-- rows slot is `allocated_costs`, or the text of allocated_with_split_columns.sql in
-- parentheses when the partition needs a line-item column.
insert into split_weights
with
carried as (
    select {partition_key} as partition_key, {target} as target, {basis} as basis
    from {allocated_rows} a
    where a.x_billing_period = $period
    union all
    select {partition_key} as partition_key, {target} as target, {basis} as basis
    from split_rows a
    where a.x_billing_period = $period
      and not exists (
          select 1 from split_candidates c
          where c.split_index = $split_index
            and c.x_source = a.x_source and c.x_line_item_id = a.x_line_item_id)
)
select partition_key, target, sum(basis)::double as weight, null as quantity
from carried
where target in (select unnest($targets::varchar[]))
group by all
having sum(basis) > 0
