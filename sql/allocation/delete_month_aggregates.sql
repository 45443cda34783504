-- Forget the month page's totals of a period's earlier runs (their allocation is replaced).
-- The table slot is month_spend or month_unallocated (allocation/aggregates.py).
delete from {table} where x_billing_period = $period
