-- Record one load attempt of a (source, period) delivery.
insert into ingest_log (
    run_id, source, billing_period, fingerprint, status, files, row_count, raw_totals,
    loaded_totals, message, started_at, finished_at, duplicate_rows
) values (
    $run_id, $source, $period, $fingerprint, $status, $files, $row_count,
    $raw_totals, $loaded_totals, $message, $started_at, now(), $duplicate_rows
)
