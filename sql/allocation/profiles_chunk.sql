-- The profiles numbered after $after up to $last: one chunk for the engine to tag.
-- grain: one row per profile
select *
from allocation_profiles
where profile_id > $after and profile_id <= $last
order by profile_id
