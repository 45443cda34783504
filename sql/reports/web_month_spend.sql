-- The month totals of some published runs, as the web view's month page reads them.
-- grain: one row per (run, currency, charge day, usage or not, dimensions, CapEx lineage)
select *
from month_spend
where list_contains($run_ids, x_allocation_run_id)
