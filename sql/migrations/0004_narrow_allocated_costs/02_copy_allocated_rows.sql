-- Every allocated row, its amounts and lineage intact. The load it was allocated from is the
-- current one when the row still describes the line item of its id (the attributes it copied
-- are the line item's); otherwise a later load replaced that line item before the period was
-- allocated again, and `(replaced)` pairs the row with no line item in allocated_line_items (it
-- keeps its amounts and lineage) until it is.
insert into allocated_costs_narrow by name
select
    a.x_source,
    a.x_billing_period,
    a.x_line_item_id,
    coalesce(li.x_ingest_run_id, '(replaced)') as x_ingest_run_id,
    a.BillingCurrency,
    a.BilledCost,
    a.EffectiveCost,
    a.ListCost,
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
 and li.ProviderName is not distinct from a.ProviderName
 and li.ServiceProviderName is not distinct from a.ServiceProviderName
 and li.BillingAccountId is not distinct from a.BillingAccountId
 and li.SubAccountId is not distinct from a.SubAccountId
 and li.SubAccountName is not distinct from a.SubAccountName
 and li.ServiceCategory is not distinct from a.ServiceCategory
 and li.ServiceName is not distinct from a.ServiceName
 and li.ChargeCategory is not distinct from a.ChargeCategory
 and li.ChargePeriodStart is not distinct from a.ChargePeriodStart
 and li.ResourceId is not distinct from a.ResourceId
 and li.RegionId is not distinct from a.RegionId
 and li.BillingCurrency is not distinct from a.BillingCurrency
 and li.Tags::varchar is not distinct from a.Tags::varchar
