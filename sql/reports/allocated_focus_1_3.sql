-- Allocated rows of one billing period as FOCUS 1.3 Cost and Usage rows: the line item's FOCUS
-- columns, the allocated amounts, and the 1.3 allocation columns filled from the lineage.
-- A row a split produced is a "data generator-calculated split cost allocation" (costalloc is
-- the data generator): AllocatedMethodId is the split rule, AllocatedMethodDetails its lineage
-- (ratio, basis, usage quantity), AllocatedResourceId `<dimension>/<target>` (null for the
-- `unallocated` target), AllocatedResourceName the target, AllocatedTags the row's dimensions.
-- Rows no split touched carry nulls in all five. Quantities and ContractedCost are the line
-- item's times the row's split ratio. A quantity (DECIMAL(38,18)) times the ratio (scale 18)
-- would leave room for products under 100 only, so its whole and fractional parts are
-- multiplied apart and added: exact to 18 decimals.
-- grain: one row per (line item, allocation target)
with
allocated as (
    select a.*,
           json_extract_string(a.AllocatedMethodDetails, '$.x_split.dimension') as split_dimension,
           json_extract_string(a.AllocatedMethodDetails, '$.x_split.target') as split_target
    from allocated_costs a
    where a.x_billing_period = $period
),
focus_rows as (
    select l.* exclude (BilledCost, EffectiveCost, ListCost, ContractedCost, ConsumedQuantity,
                        PricingQuantity, PricingCurrencyEffectiveCost),
           a.BilledCost,
           a.EffectiveCost,
           a.ListCost,
           (l.ContractedCost * a.x_split_ratio)::decimal(38, 10) as ContractedCost,
           (trunc(l.ConsumedQuantity)::decimal(38, 0) * a.x_split_ratio
            + ((l.ConsumedQuantity - trunc(l.ConsumedQuantity)) * a.x_split_ratio)::decimal(38, 18)
           )::decimal(38, 18) as ConsumedQuantity,
           (trunc(l.PricingQuantity)::decimal(38, 0) * a.x_split_ratio
            + ((l.PricingQuantity - trunc(l.PricingQuantity)) * a.x_split_ratio)::decimal(38, 18)
           )::decimal(38, 18) as PricingQuantity,
           (l.PricingCurrencyEffectiveCost * a.x_split_ratio)::decimal(38, 10)
               as PricingCurrencyEffectiveCost,
           a.x_split_rule as AllocatedMethodId,
           case when a.x_split_rule is not null then a.AllocatedMethodDetails::varchar end
               as AllocatedMethodDetails,
           case when a.x_split_rule is not null and a.split_target <> 'unallocated'
                then a.split_dimension || '/' || a.split_target end as AllocatedResourceId,
           case when a.x_split_rule is not null and a.split_target <> 'unallocated'
                then a.split_target end as AllocatedResourceName,
           case when a.x_split_rule is not null then a.x_dimensions::varchar end as AllocatedTags,
           a.environment, a.workstream, a.cost_type,
           a.x_split_ratio, a.x_rules_version, a.x_allocation_run_id
    from allocated a
    -- every column of the line item, on the key and the load (a row whose line item a later load
    -- replaced has no FOCUS row to give until its period is allocated again)
    join line_items l
      on l.x_source = a.x_source and l.x_billing_period = a.x_billing_period
     and l.x_line_item_id = a.x_line_item_id and l.x_ingest_run_id = a.x_ingest_run_id
)
select *
from focus_rows
order by x_source, x_line_item_id, AllocatedMethodId nulls first, AllocatedResourceId
