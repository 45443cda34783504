-- One provider line item id that two line items of a (source, period) partition share with the
-- same charge period and line item type (asked only when `duplicate_line_items` counted some).
-- grain: at most one row
with
repeated as (
    select x_provider_line_item_id
    from line_items
    where x_source = $source and x_billing_period = $period
      and x_provider_line_item_id is not null
    group by x_provider_line_item_id, ChargePeriodStart, ChargePeriodEnd, x_line_item_type
    having count(*) > 1
)
select min(x_provider_line_item_id) as example
from repeated
