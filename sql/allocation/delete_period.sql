-- Remove a period's allocation, inside the transaction that writes its replacement.
delete from allocated_costs where x_billing_period = $period
