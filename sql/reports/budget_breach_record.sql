-- Record one breach unless the same (period, budget, kind, threshold) is already recorded.
-- grain: returns the row when it is new, nothing when it had fired before
insert into budget_breaches (
    billing_period, budget_id, kind, threshold_percent, owner, scope, currency, basis,
    limit_amount, actual, message, budgets_version, run_id, detected_at
)
values (
    $billing_period, $budget_id, $kind, $threshold_percent, $owner, $scope, $currency, $basis,
    $limit_amount, $actual, $message, $budgets_version, $run_id, $detected_at
)
on conflict do nothing
returning billing_period, budget_id, kind, threshold_percent
