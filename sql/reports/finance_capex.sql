-- Cost tied to a capitalization project: what was capitalized (cost_type `capex`), what the
-- project spent in a phase that is expensed, and depreciation booked from the asset register.
-- grain: one row per (billing period, source, currency, project, phase, approval, useful life,
--        kind)
with
allocated as (
    select *
    from allocated_costs
    where x_billing_period between $first_period and $last_period
),
project_cost as (
    select
        *,
        case
            when x_source = 'asset-register' then 'depreciation'
            when cost_type = 'capex' then 'capitalized'
            else 'expensed'
        end as x_capex_kind
    from allocated
    where cost_type = 'capex' or x_capex_project is not null or x_source = 'asset-register'
),
grouped as (
    select
        x_billing_period,
        x_source,
        BillingCurrency,
        x_capex_project,
        x_capex_phase,
        x_capex_approval,
        x_useful_life_months,
        x_capex_kind,
        cost_type,
        count(*) as x_allocated_rows,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from project_cost
    group by all
)
select * from grouped
order by x_billing_period, BillingCurrency, x_capex_project nulls last, x_capex_phase nulls last,
         x_capex_kind, x_source, x_capex_approval nulls last, x_useful_life_months nulls last,
         cost_type
