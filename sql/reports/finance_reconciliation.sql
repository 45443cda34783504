-- Invoice tie-out per billing period, source and currency: the raw export's own cost total
-- (ingest_log.raw_totals of the published delivery), the line items loaded from it and the
-- allocated cost, with the invoice ids the line items carry. `x_status` is `ties out` when all
-- agree exactly; otherwise `x_differences` says which totals differ and by how much.
-- grain: one row per (x_billing_period, x_source, BillingCurrency)
with
deliveries as (  -- the published load of each (source, period): its newest `loaded` attempt
    select source, billing_period, fingerprint, raw_totals
    from ingest_log
    where status = 'loaded' and billing_period between $first_period and $last_period
    qualify row_number() over (partition by source, billing_period
                               order by finished_at desc, started_at desc) = 1
),
raw_totals as (
    select
        billing_period as x_billing_period,
        source as x_source,
        currency as BillingCurrency,
        (raw_totals ->> currency)::decimal(38, 10) as x_raw_export_total
    from deliveries, unnest(json_keys(raw_totals)) as currencies(currency)
),
line_item_totals as (
    select
        x_billing_period,
        x_source,
        BillingCurrency,
        count(*) as x_line_items,
        sum(BilledCost) as x_line_items_billed_cost,
        sum(EffectiveCost) as x_line_items_effective_cost,
        string_agg(distinct InvoiceId, ', ' order by InvoiceId) as x_invoice_ids
    from line_items
    where x_billing_period between $first_period and $last_period
    group by all
),
allocated_totals as (
    select
        x_billing_period,
        x_source,
        BillingCurrency,
        count(distinct x_line_item_id) as x_allocated_line_items,
        sum(BilledCost) as x_allocated_billed_cost,
        sum(EffectiveCost) as x_allocated_effective_cost
    from allocated_costs
    where x_billing_period between $first_period and $last_period
    group by all
),
compared as (
    select
        x_billing_period,
        x_source,
        BillingCurrency,
        d.fingerprint as x_delivery_fingerprint,
        -- a currency the delivery's raw totals don't list sums to 0 in it (as the load checked)
        coalesce(r.x_raw_export_total,
                 case when d.fingerprint is not null then 0::decimal(38, 10) end
        ) as x_raw_export_total,
        l.x_line_items_billed_cost,
        a.x_allocated_billed_cost,
        l.x_line_items_effective_cost,
        a.x_allocated_effective_cost,
        coalesce(l.x_line_items, 0) as x_line_items,
        coalesce(a.x_allocated_line_items, 0) as x_allocated_line_items,
        l.x_invoice_ids
    from raw_totals as r
    full outer join line_item_totals as l using (x_billing_period, x_source, BillingCurrency)
    full outer join allocated_totals as a using (x_billing_period, x_source, BillingCurrency)
    left join deliveries as d
        on d.billing_period = x_billing_period and d.source = x_source
),
checked as (
    select
        *,
        concat_ws('; ',
            case when x_raw_export_total is null
                 then 'no loaded delivery recorded in ingest_log' end,
            case when x_line_items_billed_cost is null then 'no line items' end,
            case when x_allocated_billed_cost is null then 'not allocated' end,
            case when x_line_items_billed_cost <> x_raw_export_total
                 then 'line_items BilledCost − raw export total = '
                      || (x_line_items_billed_cost - x_raw_export_total) end,
            case when x_allocated_billed_cost <> x_line_items_billed_cost
                 then 'allocated BilledCost − line_items BilledCost = '
                      || (x_allocated_billed_cost - x_line_items_billed_cost) end,
            case when x_allocated_effective_cost <> x_line_items_effective_cost
                 then 'allocated EffectiveCost − line_items EffectiveCost = '
                      || (x_allocated_effective_cost - x_line_items_effective_cost) end,
            case when x_allocated_line_items <> x_line_items
                 then 'allocated ' || x_allocated_line_items || ' of ' || x_line_items
                      || ' line items' end
        ) as x_differences
    from compared
)
select
    * exclude (x_differences),
    case when x_differences = '' then 'ties out' else 'differs' end as x_status,
    nullif(x_differences, '') as x_differences
from checked
order by x_billing_period, BillingCurrency, x_source
