-- Cost that no rule claimed for at least one dimension, with the tags it carried, largest
-- (by absolute BilledCost, so credits show too) first.
-- grain: one row per (billing period, source, currency, account, service, resource, tags,
--        dimensions) of allocated rows with an `unallocated` dimension
with
allocated as (
    select *
    from allocated_line_items
    where x_billing_period between $first_period and $last_period
),
unclaimed as (
    select
        *,
        concat_ws(', ',
                  case when environment = 'unallocated' then 'environment' end,
                  case when workstream = 'unallocated' then 'workstream' end,
                  case when cost_type = 'unallocated' then 'cost_type' end
        ) as x_unallocated_dimensions
    from allocated
    where 'unallocated' in (environment, workstream, cost_type)
),
grouped as (
    select
        x_billing_period,
        x_source,
        BillingCurrency,
        ProviderName,
        SubAccountId,
        SubAccountName,
        ServiceName,
        ResourceId,
        Tags,
        environment,
        workstream,
        cost_type,
        x_unallocated_dimensions,
        count(*) as x_allocated_rows,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from unclaimed
    group by all
)
select * from grouped
order by abs(BilledCost) desc, x_billing_period, x_source, BillingCurrency, SubAccountId nulls last,
         ServiceName nulls last, ResourceId nulls last, Tags::varchar nulls last,
         environment, workstream, cost_type
