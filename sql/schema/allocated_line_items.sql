-- THE table for readers of allocated cost: every allocated row with its line item's attributes,
-- joined at read time (allocated_costs keeps only what the allocation decides). Its columns are
-- those allocated_costs had before it became narrow, in the same order, so a query written for
-- that table reads the same rows here. A line item's other columns are one join away on
-- (x_source, x_billing_period, x_line_item_id). A row allocated from a line item that a later
-- load has replaced (its period not allocated again yet) keeps its amounts and lineage and shows
-- no attributes: its id now names another line item.
-- grain: one row per (line item, allocation target), exactly the rows of allocated_costs
create view if not exists allocated_line_items as
select
    a.x_source,
    a.x_billing_period,
    a.x_line_item_id,
    li.ProviderName,
    li.ServiceProviderName,
    li.BillingAccountId,
    li.SubAccountId,
    li.SubAccountName,
    li.ServiceCategory,
    li.ServiceName,
    li.ChargeCategory,
    li.ChargePeriodStart,
    li.ResourceId,
    li.RegionId,
    a.BillingCurrency,
    a.BilledCost,
    a.EffectiveCost,
    a.ListCost,
    li.Tags,
    a.environment,
    a.workstream,
    a.cost_type,
    a.x_dimensions,
    a.x_environment_rule,
    a.x_workstream_rule,
    a.x_cost_type_rule,
    a.x_split_rule,
    a.x_split_method,
    a.x_split_basis,
    a.x_split_ratio,
    a.x_driver_quantity,
    a.x_capex_project,
    a.x_capex_phase,
    a.x_capex_approval,
    a.x_useful_life_months,
    a.AllocatedMethodId,
    a.AllocatedMethodDetails,
    a.x_rules_version,
    a.x_allocation_run_id,
    a.x_allocated_at
from allocated_costs a
left join line_items li
  on li.x_source = a.x_source
 and li.x_billing_period = a.x_billing_period
 and li.x_line_item_id = a.x_line_item_id
 and li.x_ingest_run_id = a.x_ingest_run_id
