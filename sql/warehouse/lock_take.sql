-- Take a free warehouse lock (the primary key refuses a second holder at commit).
insert into partition_locks values ($key, $run_id, $host, $pid, now())
