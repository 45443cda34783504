-- Each profile with the engine's answers for it (dimensions, rule ids, CapEx treatment,
-- lineage, and which splits may take its line items), from the Arrow table `answers` that
-- holds the answers for the profiles numbered after $after up to $last. The first chunk
-- creates the table, the others add to it ({into}: fixed text from allocation/publish.py).
-- The JSON is typed here, once per profile, not once per line item.
-- grain: one row per profile
{into}
select p.*, a.* exclude (profile_id, x_dimensions, AllocatedMethodDetails)
          , a.x_dimensions::json as x_dimensions
          , a.AllocatedMethodDetails::json as AllocatedMethodDetails
from allocation_profiles p
join answers a using (profile_id)
where p.profile_id > $after and p.profile_id <= $last
