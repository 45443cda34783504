-- Allocated cost per billing period, currency and workstream: the history a forecast extends.
-- grain: one row per (x_billing_period, BillingCurrency, workstream)
with
allocated as (
    select x_billing_period, BillingCurrency, workstream, BilledCost, EffectiveCost
    from allocated_costs
    where x_billing_period between $first_period and $last_period
),
monthly as (
    select
        x_billing_period,
        BillingCurrency,
        workstream,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from allocated
    group by all
)
select * from monthly
order by x_billing_period, BillingCurrency, workstream
