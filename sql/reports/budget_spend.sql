-- Allocated cost per charge day and per combination of the dimensions budgets name: what budget
-- lines and pilots are compared with. Charge days are UTC dates of ChargePeriodStart.
-- grain: one row per (x_billing_period, BillingCurrency, charge_day, is_usage, dimension_values)
-- $dimension_paths: JSON paths into x_dimensions ('$.workstream', …); dimension_values holds
-- each one's value in that order (null where a row lacks it)
with
allocated as (
    select
        x_billing_period,
        BillingCurrency,
        cast(ChargePeriodStart as date) as charge_day,
        ChargeCategory = 'Usage' as is_usage,
        json_extract_string(x_dimensions, $dimension_paths) as dimension_values,
        BilledCost,
        EffectiveCost
    from allocated_line_items
    where x_billing_period between $first_period and $last_period
),
daily as (
    select
        x_billing_period,
        BillingCurrency,
        charge_day,
        is_usage,
        dimension_values,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from allocated
    group by all
)
select * from daily
order by x_billing_period, BillingCurrency, charge_day, is_usage, dimension_values
