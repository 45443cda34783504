-- Take over a lock from a holder known to be gone; matches only that holder's row.
-- grain: one row when taken over, none when someone else got there first
update partition_locks
set run_id = $run_id, host = $host, pid = $pid, acquired_at = now()
where lock_key = $key and run_id = $previous_run_id and pid = $previous_pid
returning lock_key
