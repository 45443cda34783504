-- Each profile with the engine's answers for it (dimensions, rule ids, CapEx treatment,
-- lineage, and which splits may take its line items), from the Arrow table `answers`. The
-- JSON is typed here, once per profile, not once per line item.
-- grain: one row per profile
create or replace temp table allocation_profile_answers as
select p.*, a.* exclude (profile_id, x_dimensions, AllocatedMethodDetails)
          , a.x_dimensions::json as x_dimensions
          , a.AllocatedMethodDetails::json as AllocatedMethodDetails
from allocation_profiles p
join answers a using (profile_id)
