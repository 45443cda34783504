-- Record one allocation of a billing period.
insert into allocation_log values (
    $run_id, $period, $rules_version, $status, $line_item_rows, $allocated_rows, $totals,
    $message, now()
)
