-- The dimensions allocated rows of a range of billing periods carry (keys of x_dimensions).
-- grain: one row per dimension name
with
allocated as (
    select x_dimensions
    from allocated_costs
    where x_billing_period between $first_period and $last_period
),
names as (
    select distinct unnest(json_keys(x_dimensions)) as dimension
    from allocated
)
select * from names
order by dimension
