-- Allocated cost grouped by the columns a caller picks, for the pull endpoint.
-- Static SQL: each `$by_<column>` flag keeps that column in the grouping or turns it into a
-- constant null, so no identifier ever comes from a request. The caller keeps only the
-- grouped columns. Always grouped by currency: amounts in two currencies are never added.
-- A null $limit means every group from $offset on.
-- grain: one row per (BillingCurrency, the chosen columns)
with
allocated as (
    select *
    from allocated_line_items
    where x_billing_period between $first_period and $last_period
),
grouped as (
    select
        case when $by_x_billing_period then x_billing_period end as x_billing_period,
        case when $by_x_source then x_source end as x_source,
        case when $by_ProviderName then ProviderName end as ProviderName,
        case when $by_ServiceProviderName then ServiceProviderName end as ServiceProviderName,
        case when $by_BillingAccountId then BillingAccountId end as BillingAccountId,
        case when $by_SubAccountId then SubAccountId end as SubAccountId,
        case when $by_SubAccountName then SubAccountName end as SubAccountName,
        case when $by_ServiceCategory then ServiceCategory end as ServiceCategory,
        case when $by_ServiceName then ServiceName end as ServiceName,
        case when $by_ChargeCategory then ChargeCategory end as ChargeCategory,
        case when $by_RegionId then RegionId end as RegionId,
        case when $by_ResourceId then ResourceId end as ResourceId,
        case when $by_environment then environment end as environment,
        case when $by_workstream then workstream end as workstream,
        case when $by_cost_type then cost_type end as cost_type,
        case when $by_x_split_rule then x_split_rule end as x_split_rule,
        case when $by_x_capex_project then x_capex_project end as x_capex_project,
        case when $by_x_capex_phase then x_capex_phase end as x_capex_phase,
        BillingCurrency,
        count(*) as x_allocated_rows,
        sum(BilledCost) as BilledCost,
        sum(EffectiveCost) as EffectiveCost
    from allocated
    group by all
)
select * from grouped
order by all
limit $limit offset $offset
