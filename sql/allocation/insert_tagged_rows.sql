-- One period's line items with the answers of their profile: those no split may take go to
-- `allocated_costs`, the others to `split_rows` ({target}, a fixed table name), which also keeps
-- the line-item columns a split may partition by ({split_columns}: `, li.<column>` for each of
-- allocation.splits.SPLIT_ROW_COLUMNS, or nothing).
-- {profile_match} is built by allocation/profiles.py from checked column names.
-- grain: one row per line item
insert into {target} by name
select
    li.x_source, li.x_billing_period, li.x_line_item_id, li.x_ingest_run_id,
    li.BillingCurrency, li.BilledCost, li.EffectiveCost, li.ListCost,
    p.environment, p.workstream, p.cost_type, p.x_dimensions,
    p.x_environment_rule, p.x_workstream_rule, p.x_cost_type_rule,
    null as x_split_rule, null as x_split_method, null as x_split_basis,
    1 as x_split_ratio, null as x_driver_quantity,
    p.x_capex_project, p.x_capex_phase, p.x_capex_approval, p.x_useful_life_months,
    'tagging' as AllocatedMethodId, p.AllocatedMethodDetails,
    $rules_version as x_rules_version, $run_id as x_allocation_run_id,
    $allocated_at as x_allocated_at
    {split_columns}
from line_items li
join allocation_profile_answers p on {profile_match}
where li.x_billing_period = $period
  and p.split_may_take = $split_may_take
