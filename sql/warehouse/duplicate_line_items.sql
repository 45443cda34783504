-- How many line items of a (source, period) partition repeat the provider identity of another
-- one: the provider's line item id, the charge period and the line item type (AWS:
-- `identity_line_item_id` per usage interval; the asset register: the asset id). They are kept
-- as billed and counted; see docs/reliability.md. Sources whose rows carry no provider line
-- item id (GCP, Azure, FOCUS files) get null: not checked, rather than a reassuring zero.
-- grain: one row
with
identified as (
    select x_provider_line_item_id, ChargePeriodStart, ChargePeriodEnd, x_line_item_type
    from line_items
    where x_source = $source and x_billing_period = $period
      and x_provider_line_item_id is not null
),
repeated as (
    select x_provider_line_item_id, count(*) - 1 as extra_rows
    from identified
    group by x_provider_line_item_id, ChargePeriodStart, ChargePeriodEnd, x_line_item_type
    having count(*) > 1
),
summary as (
    select
        case when exists (select 1 from identified)
            then coalesce(sum(extra_rows), 0) end as duplicate_rows,
        min(x_provider_line_item_id) as example
    from repeated
)
select * from summary
