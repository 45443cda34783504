-- Line items split by environment, workstream and cost type, with the reason for each: only what
-- the allocation decides. A line item's own attributes (provider, account, service, charge
-- period, resource, region, tags …) stay in `line_items`; readers join them through the view
-- `allocated_line_items` (sql/schema/allocated_line_items.sql).
-- grain: one row per (line item, allocation target); a line item no split touched has one row
-- with x_split_ratio = 1. Partition: (x_source, x_billing_period), replaced whole per period.
create table if not exists allocated_costs (
    -- the line item: its key, and the load it was allocated from (a later load of the
    -- partition numbers its rows afresh, so the view joins on the load too)
    x_source VARCHAR not null,
    x_billing_period VARCHAR not null,
    x_line_item_id BIGINT not null,
    x_ingest_run_id VARCHAR not null,
    -- the amounts, as allocated to this row, and their currency (every sum groups by it, the
    -- conservation gate too: kept here so that no sum needs the join)
    BillingCurrency VARCHAR not null,
    BilledCost DECIMAL(38, 10) not null,
    EffectiveCost DECIMAL(38, 10) not null,
    ListCost DECIMAL(38, 10) not null,
    -- the dimensions and the lineage
    environment VARCHAR not null,
    workstream VARCHAR not null,
    cost_type VARCHAR not null,
    x_dimensions JSON not null,            -- every dimension incl. user-declared ones
    x_environment_rule VARCHAR,            -- id of the rule that set it; null = default
    x_workstream_rule VARCHAR,
    x_cost_type_rule VARCHAR,
    x_split_rule VARCHAR,                  -- the split that produced this row, if any
    x_split_method VARCHAR,                -- even | fixed | proportional | usage
    x_split_basis VARCHAR,                 -- BilledCost | EffectiveCost | the usage driver's name
    x_split_ratio DECIMAL(38, 18) not null,
    x_driver_quantity DECIMAL(38, 18),     -- usage splits: this target's driver quantity
    x_capex_project VARCHAR,               -- capitalization entry that matched, if any
    x_capex_phase VARCHAR,                 -- research | development | production | maintenance
    x_capex_approval VARCHAR,              -- the approval reference that makes it CapEx
    x_useful_life_months INTEGER,          -- amortization / depreciation period of CapEx
    AllocatedMethodId VARCHAR,
    AllocatedMethodDetails JSON,
    x_rules_version VARCHAR not null,
    x_allocation_run_id VARCHAR not null,
    x_allocated_at TIMESTAMPTZ not null
);
