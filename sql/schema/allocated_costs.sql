-- Line items split by environment, workstream and cost type, with the reason for each.
-- grain: one row per (line item, allocation target); a line item no split touched has one row
-- with x_split_ratio = 1. Partition: (x_source, x_billing_period), replaced whole per period.
create table if not exists allocated_costs (
    x_source VARCHAR not null,
    x_billing_period VARCHAR not null,
    x_line_item_id BIGINT not null,
    ProviderName VARCHAR not null,
    ServiceProviderName VARCHAR,
    BillingAccountId VARCHAR not null,
    SubAccountId VARCHAR,
    SubAccountName VARCHAR,
    ServiceCategory VARCHAR,
    ServiceName VARCHAR,
    ChargeCategory VARCHAR not null,
    ResourceId VARCHAR,
    RegionId VARCHAR,
    BillingCurrency VARCHAR not null,
    BilledCost DECIMAL(38, 10) not null,
    EffectiveCost DECIMAL(38, 10) not null,
    ListCost DECIMAL(38, 10) not null,
    Tags JSON,
    environment VARCHAR not null,
    workstream VARCHAR not null,
    cost_type VARCHAR not null,
    x_dimensions JSON not null,            -- every dimension incl. user-declared ones
    x_environment_rule VARCHAR,            -- id of the rule that set it; null = default
    x_workstream_rule VARCHAR,
    x_cost_type_rule VARCHAR,
    x_split_rule VARCHAR,
    x_split_ratio DECIMAL(38, 18) not null,
    AllocatedMethodId VARCHAR,
    AllocatedMethodDetails JSON,
    x_rules_version VARCHAR not null,
    x_allocation_run_id VARCHAR not null,
    x_allocated_at TIMESTAMPTZ not null
);
