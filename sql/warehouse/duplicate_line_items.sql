-- How many line items of a (source, period) partition repeat the provider identity of another
-- one: the provider's line item id, the charge period and the line item type (AWS:
-- `identity_line_item_id` per usage interval; the asset register: the asset id). They are kept
-- as billed and counted; see docs/reliability.md. Sources whose rows carry no provider line
-- item id (GCP, Azure, FOCUS files) get null: not checked, rather than a reassuring zero.
-- Identities are compared by their 64-bit hash, half the work of comparing the columns; a
-- false repeat would take two of 2^64 hashes meeting, and `duplicate_example` confirms any.
-- grain: one row
with
identified as (
    select hash(x_provider_line_item_id, ChargePeriodStart, ChargePeriodEnd,
                x_line_item_type) as identity
    from line_items
    where x_source = $source and x_billing_period = $period
      and x_provider_line_item_id is not null
),
summary as (
    select case when count(*) > 0 then count(*) - count(distinct identity) end as duplicate_rows
    from identified
)
select * from summary
