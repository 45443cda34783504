-- The allocated rows behind a cell of the web view, from allocated_costs alone: a month and
-- currency, and each filter whose parameter is not null; $project '(none)' means no CapEx
-- project. Only a service or account filter looks at the line items (those of the load the
-- rows were allocated from, as allocated_line_items matches them); otherwise the cell counts
-- what the month page's totals counted when the run was published. Unordered: the cell slot of
-- web_cell_total.sql (its sums), web_line_items.sql (a page) and web_cell_rows.sql (a download).
-- grain: one row per (line item, allocation target)
select *
from allocated_costs a
where a.x_billing_period = $period
  and a.BillingCurrency = $currency
  and ($environment is null or a.environment = $environment)
  and ($workstream is null or a.workstream = $workstream)
  and ($cost_type is null or a.cost_type = $cost_type)
  and ($project is null or a.x_capex_project is not distinct from nullif($project, '(none)'))
  and ($phase is null or a.x_capex_phase = $phase)
  and (not $unallocated or 'unallocated' in (a.environment, a.workstream, a.cost_type))
  -- a filter not given matches no line item here and costs no join
  and ($service is null or (a.x_source, a.x_line_item_id, a.x_ingest_run_id) in (
      select x_source, x_line_item_id, x_ingest_run_id
      from line_items
      where x_billing_period = $period and ServiceName = $service))
  and ($account is null or (a.x_source, a.x_line_item_id, a.x_ingest_run_id) in (
      select x_source, x_line_item_id, x_ingest_run_id
      from line_items
      where x_billing_period = $period and SubAccountId = $account))
