-- BilledCost and EffectiveCost per value of each standard dimension, for one period.
-- grain: one row per (dimension, value, currency)
with
allocated as (
    select * from allocated_costs where x_billing_period = $period
),
unpivoted as (
    select 'environment' as dimension, environment as value, BillingCurrency, BilledCost,
           EffectiveCost from allocated
    union all
    select 'workstream', workstream, BillingCurrency, BilledCost, EffectiveCost from allocated
    union all
    select 'cost_type', cost_type, BillingCurrency, BilledCost, EffectiveCost from allocated
)
select dimension, value, BillingCurrency as currency, sum(BilledCost) as billed,
       sum(EffectiveCost) as effective
from unpivoted
group by all
order by dimension, value, currency
