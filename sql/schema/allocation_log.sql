-- One row per allocation of a billing period: what was published, under which rules.
-- grain: one row per (period, run); the newest `published` row is what finance sees.
create table if not exists allocation_log (
    run_id VARCHAR not null,
    billing_period VARCHAR not null,
    rules_version VARCHAR not null,
    status VARCHAR not null,              -- published | refused
    line_item_rows BIGINT not null,
    allocated_rows BIGINT not null,
    totals JSON not null,                 -- [{source, currency, billed, effective}]
    message VARCHAR,
    finished_at TIMESTAMPTZ not null
);
