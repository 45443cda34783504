-- One row per delivery loaded (or refused) for a (source, billing period).
-- grain: one row per load attempt; the newest `loaded` row per partition is what is published.
create table if not exists ingest_log (
    run_id VARCHAR not null,
    source VARCHAR not null,
    billing_period VARCHAR not null,
    fingerprint VARCHAR not null,
    status VARCHAR not null,              -- loaded | failed
    files JSON not null,                  -- the data files read, in order
    row_count BIGINT not null,
    raw_totals JSON not null,             -- {currency: sum of the export's own cost column}
    loaded_totals JSON not null,          -- {currency: sum of BilledCost in line_items}
    message VARCHAR,
    started_at TIMESTAMPTZ not null,
    finished_at TIMESTAMPTZ not null,
    duplicate_rows BIGINT                 -- rows repeating another's provider line item identity
                                          -- (kept as billed); null: the source has no such id
);
