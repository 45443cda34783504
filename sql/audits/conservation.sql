-- Conservation audit: per source and currency, allocated totals that differ from line items.
-- Returns the bad rows; an empty result means the period conserves cost exactly.
-- grain: one row per (source, currency) that does not tie out
with
source_totals as (
    select x_source, BillingCurrency, sum(BilledCost) as billed, sum(EffectiveCost) as effective,
           count(*) as line_items
    from line_items
    where x_billing_period = $period
    group by all
),
allocated_totals as (
    -- A line item no split took is exactly one row without a split rule; one a split took is
    -- rows with one (its parts): counting distinct ids among the parts only is exact, and a
    -- duplicated or half-split line item shows up as one too many.
    select x_source, BillingCurrency, sum(BilledCost) as billed, sum(EffectiveCost) as effective,
           count(*) filter (where x_split_rule is null)
           + count(distinct x_line_item_id) filter (where x_split_rule is not null) as line_items
    from allocated_costs
    where x_billing_period = $period
    group by all
),
compared as (
    select
        coalesce(s.x_source, a.x_source) as x_source,
        coalesce(s.BillingCurrency, a.BillingCurrency) as currency,
        coalesce(s.billed, 0) as source_billed,
        coalesce(a.billed, 0) as allocated_billed,
        coalesce(s.effective, 0) as source_effective,
        coalesce(a.effective, 0) as allocated_effective,
        coalesce(s.line_items, 0) as source_line_items,
        coalesce(a.line_items, 0) as allocated_line_items
    from source_totals s
    full outer join allocated_totals a using (x_source, BillingCurrency)
)
select *
from compared
where source_billed <> allocated_billed
   or source_effective <> allocated_effective
   or source_line_items <> allocated_line_items
order by x_source, currency
