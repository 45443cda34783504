-- Which line items each split may take (the splits their profile's answers name).
-- {profile_match} is built by allocation/profiles.py from checked column names.
-- grain: one row per (split, line item)
insert into split_candidates
select unnest(p.split_indexes) as split_index, li.x_source, li.x_line_item_id
from line_items li
join allocation_profile_answers p on {profile_match}
where li.x_billing_period = $period
  and p.split_may_take
