-- Each billing period's allocation: the newest attempt (published or refused) and the newest
-- published run, which is what allocated_costs holds.
-- grain: one row per billing period with at least one allocation attempt
with
attempts as (
    select *
    from allocation_log
    where billing_period between $first_period and $last_period
),
latest as (
    select *
    from attempts
    qualify row_number() over (partition by billing_period order by finished_at desc) = 1
),
published as (
    select *
    from attempts
    where status = 'published'
    qualify row_number() over (partition by billing_period order by finished_at desc) = 1
)
select
    latest.billing_period as x_billing_period,
    latest.run_id as x_latest_run_id,
    latest.status as x_latest_status,
    latest.message as x_latest_message,
    latest.finished_at as x_latest_finished_at,
    published.run_id as x_allocation_run_id,
    published.rules_version as x_rules_version,
    published.line_item_rows as x_line_items,
    published.allocated_rows as x_allocated_rows,
    published.totals as x_totals,
    published.finished_at as x_published_at
from latest
left join published using (billing_period)
order by latest.billing_period
