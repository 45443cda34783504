-- Who is loading a (source, period) or allocating a period right now.
-- grain: one row per held lock; a row is removed when its run finishes, succeeded or not.
-- A row whose holder process is gone (same host, pid not alive) is taken over by the next run.
create table if not exists partition_locks (
    lock_key VARCHAR primary key,         -- load/<source>/<period> | allocate/<period>
    run_id VARCHAR not null,
    host VARCHAR not null,
    pid INTEGER not null,
    acquired_at TIMESTAMPTZ not null
);
