-- Every allocated row of the allocation under way: those no split takes, already in
-- `allocated_costs`, and those in `split_rows`. What proportional splits weigh targets by.
-- grain: one row per (line item, allocation target)
create or replace temp view allocation_rows as
select * from allocated_costs
union all by name
select * from split_rows
