-- When each source last received a delivery it had not loaded before: the first `loaded`
-- attempt of each fingerprint counts (a forced reload of the same delivery is not a new one).
-- grain: one row per source with at least one loaded delivery
with
first_loads as (
    select source, fingerprint, min(finished_at) as first_loaded_at
    from ingest_log
    where status = 'loaded'
    group by source, fingerprint
),
per_source as (
    select
        source,
        max(first_loaded_at) as last_new_delivery_at,
        count(*) as deliveries
    from first_loads
    group by source
)
select * from per_source order by source
