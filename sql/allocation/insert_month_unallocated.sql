-- Keep a published run's unallocated cost by service and account, from the registered
-- relation `month_unallocated_rows` (computed by allocation/aggregates.py).
insert into month_unallocated by name
select * from month_unallocated_rows
