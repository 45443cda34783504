-- The allocated rows behind a cell of the web view with their line items' attributes: what a
-- download streams, unordered. The cell slot holds web_cell_allocated.sql's text. A row whose
-- line item a later load replaced (its period not allocated again yet) keeps its amounts and
-- lineage and shows no attributes: its id now names another line item.
-- grain: one row per (line item, allocation target)
select
    a.x_source,
    a.x_line_item_id,
    li.ChargePeriodStart,
    li.ProviderName,
    li.SubAccountId,
    li.SubAccountName,
    li.ServiceName,
    li.ChargeCategory,
    li.ResourceId,
    a.environment,
    a.workstream,
    a.cost_type,
    a.x_capex_project,
    a.x_capex_phase,
    a.x_split_rule,
    a.x_split_ratio,
    a.BillingCurrency,
    a.BilledCost,
    a.EffectiveCost
from (
{cell}
) as a
left join line_items li
  on li.x_source = a.x_source
 and li.x_billing_period = a.x_billing_period
 and li.x_line_item_id = a.x_line_item_id
 and li.x_ingest_run_id = a.x_ingest_run_id
