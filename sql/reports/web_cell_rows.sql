-- The allocated rows behind a cell of the web view: a month and currency, and each filter whose
-- parameter is not null; $project '(none)' means no CapEx project. Unordered (what downloads
-- stream); web_line_items.sql pages through it, web_cell_total.sql adds it up.
-- grain: one row per (line item, allocation target)
select
    x_source,
    x_line_item_id,
    ChargePeriodStart,
    ProviderName,
    SubAccountId,
    SubAccountName,
    ServiceName,
    ChargeCategory,
    ResourceId,
    environment,
    workstream,
    cost_type,
    x_capex_project,
    x_capex_phase,
    x_split_rule,
    x_split_ratio,
    BillingCurrency,
    BilledCost,
    EffectiveCost
from allocated_line_items
where x_billing_period = $period
  and BillingCurrency = $currency
  and ($environment is null or environment = $environment)
  and ($workstream is null or workstream = $workstream)
  and ($cost_type is null or cost_type = $cost_type)
  and ($project is null or x_capex_project is not distinct from nullif($project, '(none)'))
  and ($phase is null or x_capex_phase = $phase)
  and ($service is null or ServiceName = $service)
  and ($account is null or SubAccountId = $account)
  and (not $unallocated or 'unallocated' in (environment, workstream, cost_type))
