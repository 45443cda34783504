-- Spend by environment × workstream × cost type for a range of billing periods.
-- grain: one row per (currency, environment, workstream, cost_type)
with
allocated as (
    select *
    from allocated_costs
    where x_billing_period between $first_period and $last_period
),
summary as (
    select
        BillingCurrency as currency,
        environment,
        workstream,
        cost_type,
        count(*) as allocated_rows,
        sum(BilledCost) as billed_cost,
        sum(EffectiveCost) as effective_cost
    from allocated
    group by all
)
select * from summary
order by currency, environment, workstream, cost_type
