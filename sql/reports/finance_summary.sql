-- Allocated cost by provider, environment, workstream and cost type, per billing period.
-- Exact amounts; the workbook rounds them for display.
-- grain: one row per (x_billing_period, BillingCurrency, ProviderName, environment, workstream,
--        cost_type)
with
allocated as (
    select *
    from allocated_line_items
    where x_billing_period between $first_period and $last_period
),
summary as (
    select
        x_billing_period,
        BillingCurrency,
        ProviderName,
        environment,
        workstream,
        cost_type,
        count(*) as x_allocated_rows,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost,
        sum(ListCost) as ListCost
    from allocated
    group by all
)
select * from summary
order by x_billing_period, BillingCurrency, ProviderName, environment, workstream, cost_type
