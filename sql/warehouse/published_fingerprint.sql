-- The fingerprint of the delivery currently published for a (source, period), if any.
-- grain: at most one row
select fingerprint
from ingest_log
where source = $source and billing_period = $period and status = 'loaded'
order by finished_at desc
limit 1
