-- One period's allocated cost summed for the web view's month page (table `month_spend`).
-- Charge day and usage come from the line items, through allocated_line_items.
-- grain: one row per (currency, charge day, usage or not, dimensions, CapEx lineage)
with
allocated as (
    select
        BillingCurrency,
        cast(ChargePeriodStart as date) as x_charge_day,
        ChargeCategory = 'Usage' as x_is_usage,
        environment,
        workstream,
        cost_type,
        x_dimensions,
        x_capex_project,
        x_capex_phase,
        x_capex_approval,
        x_useful_life_months,
        BilledCost,
        EffectiveCost
    from allocated_line_items
    where x_billing_period = $period
),
summed as (
    select
        $run_id as x_allocation_run_id,
        $period as x_billing_period,
        BillingCurrency,
        x_charge_day,
        x_is_usage,
        environment,
        workstream,
        cost_type,
        x_dimensions,
        x_capex_project,
        x_capex_phase,
        x_capex_approval,
        x_useful_life_months,
        count(*) as x_allocated_rows,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from allocated
    group by all
)
select * from summed
