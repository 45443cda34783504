-- One page of a month's allocated rows behind a cell of the web view (largest amount first),
-- each with the count and sums of every row the filters pick (the cell's total).
-- Each filter applies when its parameter is not null; $project '(none)' means no CapEx project.
-- A null $limit means every row from $offset on.
-- grain: one row per (line item, allocation target)
with
picked as (
    select *
    from allocated_costs
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
)
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
    EffectiveCost,
    count(*) over () as x_cell_rows,
    sum(BilledCost) over () as x_cell_billed_cost,
    sum(EffectiveCost) over () as x_cell_effective_cost
from picked
order by abs(BilledCost) desc, x_source, x_line_item_id, x_split_rule nulls first, environment,
         workstream, cost_type
limit $limit offset $offset
