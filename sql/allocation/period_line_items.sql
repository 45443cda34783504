-- The line items of one billing period, every source, as stored (no sort: allocation works
-- on sets, and sorting a month of line items would hold it in memory).
-- grain: one row per line item
select *
from line_items
where x_billing_period = $period
