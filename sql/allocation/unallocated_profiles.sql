-- One period's unallocated cost (an `unallocated` environment, workstream or cost type) by the
-- profile of its line items (see allocation/profiles.py) and by the service and account it is
-- shown under (the line item's, like the profile): what the rules are matched against to name
-- the rule that would catch it.
-- {profile} is built by allocation/profiles.py from checked column names.
-- grain: one row per (profile, currency, service, account, unallocated dimensions)
with
unclaimed as (
    select
        x_source,
        x_line_item_id,
        x_ingest_run_id,
        BillingCurrency,
        concat_ws(', ',
                  case when environment = 'unallocated' then 'environment' end,
                  case when workstream = 'unallocated' then 'workstream' end,
                  case when cost_type = 'unallocated' then 'cost_type' end
        ) as x_unallocated_dimensions,
        BilledCost,
        EffectiveCost
    from allocated_costs
    where x_billing_period = $period
      and 'unallocated' in (environment, workstream, cost_type)
),
profiled as (
    select
        {profile},
        u.BillingCurrency as x_group_currency,
        li.ServiceName as x_group_service,
        li.SubAccountId as x_group_account,
        li.SubAccountName as x_group_account_name,
        u.x_unallocated_dimensions as x_group_dimensions,
        u.BilledCost as x_group_billed,
        u.EffectiveCost as x_group_effective
    from unclaimed u
    join line_items li
      on li.x_billing_period = $period
     and li.x_source = u.x_source
     and li.x_line_item_id = u.x_line_item_id
     and li.x_ingest_run_id = u.x_ingest_run_id  -- as allocated_line_items does
),
summed as (
    select
        * exclude (x_group_billed, x_group_effective),
        count(*) as x_group_rows,
        sum(x_group_billed) as x_group_billed,
        sum(x_group_effective) as x_group_effective
    from profiled
    group by all
)
select * from summed
