-- Release a lock held by this run (another run's lock is never removed).
-- grain: one row when released, none when this run did not hold it
delete from partition_locks
where lock_key = $key and run_id = $run_id
returning lock_key
