-- Per currency, what a (source, period) partition of line items adds up to.
-- grain: one row per BillingCurrency
select
    BillingCurrency as currency,
    count(*) as row_count,
    sum(BilledCost) as billed,
    sum(EffectiveCost) as effective
from line_items
where x_source = $source and x_billing_period = $period
group by BillingCurrency
order by BillingCurrency
