-- Allocated cost of a range of billing periods per dimension combination and service: what the
-- review compares month over month to find the largest movers and what drove them.
-- grain: one row per (x_billing_period, BillingCurrency, dimension_values, ServiceName)
-- $dimension_paths: JSON paths into x_dimensions, in the caller's order
with
allocated as (
    select
        x_billing_period,
        BillingCurrency,
        json_extract_string(x_dimensions, $dimension_paths) as dimension_values,
        coalesce(ServiceName, '(no service)') as ServiceName,
        BilledCost,
        EffectiveCost
    from allocated_line_items
    where x_billing_period between $first_period and $last_period
),
grouped as (
    select
        x_billing_period,
        BillingCurrency,
        dimension_values,
        ServiceName,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from allocated
    group by all
)
select * from grouped
order by x_billing_period, BillingCurrency, dimension_values, ServiceName
