-- What a published allocation adds up to, per source and currency.
-- grain: one row per (source, currency)
select x_source as source, BillingCurrency as currency,
       sum(BilledCost)::varchar as billed, sum(EffectiveCost)::varchar as effective
from allocated_costs
where x_billing_period = $period
group by all
order by all
