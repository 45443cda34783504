-- A published allocation run's unallocated cost (an `unallocated` environment, workstream or
-- cost type) by service and account, with the rules that match it: what the web view's month
-- page shows about the unallocated share. Written with `month_spend`.
-- grain: one row per (run, currency, service, account, unallocated dimensions)
create table if not exists month_unallocated (
    x_allocation_run_id VARCHAR not null,
    x_billing_period VARCHAR not null,
    BillingCurrency VARCHAR not null,
    ServiceName VARCHAR,
    SubAccountId VARCHAR,
    SubAccountName VARCHAR,
    x_unallocated_dimensions VARCHAR not null,  -- e.g. 'environment, workstream'
    x_allocated_rows BIGINT not null,
    BilledCost DECIMAL(38, 10) not null,
    EffectiveCost DECIMAL(38, 10) not null,
    -- [{"dimension", "rule", "rows"}]: rules (file order) that set an unallocated dimension and
    -- whose condition holds on these rows, as `rules check` matches them; null: not computed
    x_matching_rules JSON
);
