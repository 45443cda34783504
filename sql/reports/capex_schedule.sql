-- Straight-line amortization of capitalized cloud cost, as of a billing period.
--
-- Convention (documented in docs/finance-outputs.md):
-- * an asset is (currency, project, phase, approval, useful life) over the rows with cost_type
--   `capex` and a useful life; the asset register's rows are left out (its depreciation is
--   booked month by month as line items already);
-- * its cost is the EffectiveCost capitalized up to and including $as_of_period;
-- * it goes into service the month after the last month that capitalized cost to it (the
--   month after its phase ends) and is amortized evenly over x_useful_life_months months;
-- * month m books round(cost × m / life) − round(cost × (m − 1) / life) in cents, half away
--   from zero, in integer arithmetic: the months add up to the cost rounded to cents and no
--   month is more than a cent from cost / life;
-- * an asset whose last capitalized month is $as_of_period itself may still be capitalizing:
--   its schedule is `provisional` and moves if next month capitalizes more.
-- grain: one row per (asset, schedule month)
with
capitalized as (
    select
        BillingCurrency,
        x_capex_project,
        x_capex_phase,
        x_capex_approval,
        x_useful_life_months,
        sum(EffectiveCost) as x_capitalized_cost,
        min(x_billing_period) as x_first_capitalized_period,
        max(x_billing_period) as x_last_capitalized_period
    from allocated_costs as allocated
    where cost_type = 'capex'
      and x_billing_period <= $as_of_period
      and x_useful_life_months > 0
      and not exists (
          select 1
          from line_items as asset_rows
          where asset_rows.x_source = allocated.x_source
            and asset_rows.x_billing_period = allocated.x_billing_period
            and asset_rows.x_line_item_id = allocated.x_line_item_id
            and asset_rows.x_line_item_type in ('AssetPurchase', 'Depreciation'))
    group by all
),
assets as (
    select
        *,
        strptime(x_last_capitalized_period || '-01', '%Y-%m-%d')::date
            + interval 1 month as in_service,
        (x_capitalized_cost * 10000000000)::hugeint as cost_units,  -- 1e-10 units, exact
        x_useful_life_months::hugeint * 100000000 as units_per_cent_month
    from capitalized
),
months as (
    select *, unnest(generate_series(0, x_useful_life_months)) as x_month_number
    from assets
),
accumulated as (  -- cents amortized after month m, rounded half away from zero
    select
        *,
        sign(cost_units) * ((abs(cost_units) * x_month_number * 2 + units_per_cent_month)
                            // (2 * units_per_cent_month)) as accumulated_cents
    from months
),
schedule as (
    select
        $as_of_period as x_billing_period,
        BillingCurrency,
        x_capex_project,
        x_capex_phase,
        x_capex_approval,
        x_useful_life_months,
        x_capitalized_cost,
        x_first_capitalized_period,
        x_last_capitalized_period,
        strftime(in_service, '%Y-%m') as x_in_service_period,
        case when x_last_capitalized_period >= $as_of_period then 'provisional'
             else 'in service' end as x_schedule_status,
        x_month_number,
        strftime(in_service + to_months(x_month_number - 1), '%Y-%m') as x_schedule_period,
        ((accumulated_cents - lag(accumulated_cents) over asset)::decimal(38, 0) * 0.01
            )::decimal(38, 10) as x_amortization,
        (accumulated_cents::decimal(38, 0) * 0.01)::decimal(38, 10) as x_accumulated_amortization,
        (round(x_capitalized_cost, 2) - accumulated_cents::decimal(38, 0) * 0.01
            )::decimal(38, 10) as x_net_book_value
    from accumulated
    window asset as (partition by BillingCurrency, x_capex_project, x_capex_phase,
                     x_capex_approval, x_useful_life_months order by x_month_number)
)
select * from schedule
where x_month_number > 0
order by BillingCurrency, x_capex_project, x_capex_phase, x_capex_approval, x_useful_life_months,
         x_month_number
