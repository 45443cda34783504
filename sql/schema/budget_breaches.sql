-- Budget thresholds and pilot limits crossed, recorded the first time each is crossed in a
-- billing period: the primary key makes a breach fire once per period (and again in the next).
-- grain: one row per (billing_period, budget_id, kind, threshold_percent)
create table if not exists budget_breaches (
    billing_period VARCHAR not null,
    budget_id VARCHAR not null,                    -- the budget line's or the pilot's id
    kind VARCHAR not null,                         -- budget | pilot_cap | pilot_end
    threshold_percent DECIMAL(9, 4) not null,      -- of the budget (of the cap); 0 for pilot_end
    owner VARCHAR not null,
    scope VARCHAR not null,                        -- the dimensions covered, e.g. workstream=experimentation
    currency VARCHAR not null,
    basis VARCHAR not null,                        -- BilledCost | EffectiveCost
    limit_amount DECIMAL(38, 10) not null,         -- the period's budget, the cap, or 0 after a pilot's end
    actual DECIMAL(38, 10) not null,               -- what was spent when the breach was found
    message VARCHAR not null,
    budgets_version VARCHAR not null,              -- content hash of the budgets file
    run_id VARCHAR not null,
    detected_at TIMESTAMPTZ not null,
    primary key (billing_period, budget_id, kind, threshold_percent)
);
