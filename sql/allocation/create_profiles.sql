-- The distinct rule inputs ("profiles") of one period's line items, numbered, with the number
-- of line items each stands for. {profile} is built by allocation/profiles.py from checked
-- column names. See that module for why this gives the same answers as every line item.
-- grain: one row per profile
create or replace temp table allocation_profiles as
select row_number() over () as profile_id, *
from (
    select {profile}, count(*) as line_item_count
    from line_items li
    where li.x_billing_period = $period
    group by all
)
