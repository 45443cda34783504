-- Cost tied to a capitalization project or an asset: what was capitalized (cost_type `capex`),
-- what a project spent in a phase that is expensed, and the asset register's purchases and
-- depreciation (line item types AssetPurchase / Depreciation, see connectors/assets).
-- grain: one row per (billing period, source, currency, project, phase, approval, useful life,
--        kind)
with
allocated as (
    select *
    from allocated_costs
    where x_billing_period between $first_period and $last_period
      and (cost_type = 'capex' or x_capex_project is not null)
),
line_item_types as (
    select x_source, x_billing_period, x_line_item_id, x_line_item_type
    from line_items
    where x_billing_period between $first_period and $last_period
      and x_line_item_type in ('AssetPurchase', 'Depreciation')
),
project_cost as (
    select
        allocated.*,
        case
            when t.x_line_item_type = 'AssetPurchase' then 'asset purchase'
            when t.x_line_item_type = 'Depreciation' then 'depreciation'
            when allocated.cost_type = 'capex' then 'capitalized'
            else 'expensed'
        end as x_capex_kind
    from allocated
    left join line_item_types as t using (x_source, x_billing_period, x_line_item_id)
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
