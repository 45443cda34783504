-- The allocated rows of one line item, with their lineage.
-- grain: one row per (line item, allocation target)
select environment, workstream, cost_type, x_environment_rule, x_workstream_rule,
       x_cost_type_rule, x_split_rule, x_split_method, x_split_basis, x_split_ratio,
       x_driver_quantity, x_capex_project, x_capex_phase, x_capex_approval, x_useful_life_months,
       BilledCost, AllocatedMethodDetails, x_rules_version, x_allocation_run_id
from allocated_costs
where x_billing_period = $period and x_line_item_id = $line_item_id and x_source = $source
order by BilledCost desc, environment, workstream
