-- Allocated cost per billing period, value of one dimension and currency, for unit economics.
-- grain: one row per (period, dimension value, currency)
select
    x_billing_period as period,
    x_dimensions->>$dimension as value,
    BillingCurrency as currency,
    sum(BilledCost) as billed,
    sum(EffectiveCost) as effective
from allocated_costs
where x_billing_period between $first_period and $last_period
group by all
order by period, value, currency
