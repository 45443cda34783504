-- Whether a period's published allocation is current: the period's line item count, when its
-- line items last changed, and the newest published allocation's rules version and time.
-- grain: exactly one row
with
latest as (
    select rules_version, finished_at
    from allocation_log
    where billing_period = $period and status = 'published'
    order by finished_at desc
    limit 1
)
select
    (select count(*) from line_items where x_billing_period = $period) as line_item_rows,
    (select max(finished_at) from ingest_log
     where billing_period = $period and status = 'loaded') as loaded_at,
    (select rules_version from latest) as published_version,
    (select finished_at from latest) as published_at
