-- The delivery behind each (source, billing period): the newest `loaded` attempt, which is
-- what line_items holds.
-- grain: one row per (source, billing period) loaded
select
    billing_period as x_billing_period,
    source as x_source,
    fingerprint as x_delivery_fingerprint,
    run_id as x_ingest_run_id,
    json_array_length(files) as x_files,
    row_count as x_line_items,
    raw_totals as x_raw_totals,
    finished_at as x_loaded_at
from ingest_log
where status = 'loaded' and billing_period between $first_period and $last_period
qualify row_number() over (partition by source, billing_period
                           order by finished_at desc, started_at desc) = 1
order by billing_period, source
