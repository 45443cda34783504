-- The unallocated cost of some published runs by service and account, for the month page.
-- grain: one row per (run, currency, service, account, unallocated dimensions)
select *
from month_unallocated
where list_contains($run_ids, x_allocation_run_id)
