-- Allocated cost rows of a range of billing periods, one page at a time, for the pull endpoint:
-- allocated_line_items' rows and columns. The page is cut from allocated_costs before the line
-- items are joined on, so only its rows are looked up. Parts of one line item may agree on every
-- standard dimension (split across a dimension of the user's own, or split again on the same
-- one): the order goes on to their dimensions, ratio and amount, so pages neither repeat nor
-- skip a row. A null $limit means every row from $offset on.
-- grain: one row per (line item, allocation target)
with
page as (
    select *
    from allocated_costs
    where x_billing_period between $first_period and $last_period
    order by x_billing_period, x_source, x_line_item_id, x_split_rule nulls first, environment,
             workstream, cost_type, x_dimensions::varchar, x_split_ratio, BilledCost
    limit $limit offset $offset
),
page_rows as (
    select
        page.x_source,
        page.x_billing_period,
        page.x_line_item_id,
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
        page.BillingCurrency,
        page.BilledCost,
        page.EffectiveCost,
        page.ListCost,
        li.Tags,
        page.environment,
        page.workstream,
        page.cost_type,
        page.x_dimensions,
        page.x_environment_rule,
        page.x_workstream_rule,
        page.x_cost_type_rule,
        page.x_split_rule,
        page.x_split_method,
        page.x_split_basis,
        page.x_split_ratio,
        page.x_driver_quantity,
        page.x_capex_project,
        page.x_capex_phase,
        page.x_capex_approval,
        page.x_useful_life_months,
        page.AllocatedMethodId,
        page.AllocatedMethodDetails,
        page.x_rules_version,
        page.x_allocation_run_id,
        page.x_allocated_at
    from page
    left join line_items li
      on li.x_source = page.x_source
     and li.x_billing_period = page.x_billing_period
     and li.x_line_item_id = page.x_line_item_id
     and li.x_ingest_run_id = page.x_ingest_run_id
)
select *
from page_rows
order by x_billing_period, x_source, x_line_item_id, x_split_rule nulls first, environment,
         workstream, cost_type, x_dimensions::varchar, x_split_ratio, BilledCost
