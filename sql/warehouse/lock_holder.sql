-- The run holding a warehouse lock, if any.
-- grain: at most one row
select run_id, host, pid, acquired_at
from partition_locks
where lock_key = $key
