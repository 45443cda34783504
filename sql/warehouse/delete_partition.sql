-- Remove one (source, period) partition of line items, inside the load's transaction.
delete from line_items where x_source = $source and x_billing_period = $period
