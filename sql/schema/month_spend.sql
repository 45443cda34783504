-- A published allocation run summed to what the web view's month page reads (allocation,
-- CapEx, trend, budgets, forecast), written in the run's publish transaction so a request
-- never sums a month's line items. Rows of earlier runs of the period are replaced.
-- grain: one row per (run, currency, charge day, usage or not, dimensions, CapEx lineage)
create table if not exists month_spend (
    x_allocation_run_id VARCHAR not null,
    x_billing_period VARCHAR not null,
    BillingCurrency VARCHAR not null,
    x_charge_day DATE not null,            -- UTC date of ChargePeriodStart
    x_is_usage BOOLEAN not null,           -- ChargeCategory = 'Usage' (budget projections)
    environment VARCHAR not null,
    workstream VARCHAR not null,
    cost_type VARCHAR not null,
    x_dimensions JSON not null,            -- every dimension incl. user-declared ones
    x_capex_project VARCHAR,
    x_capex_phase VARCHAR,
    x_capex_approval VARCHAR,
    x_useful_life_months INTEGER,
    x_allocated_rows BIGINT not null,
    BilledCost DECIMAL(38, 10) not null,
    EffectiveCost DECIMAL(38, 10) not null
);
