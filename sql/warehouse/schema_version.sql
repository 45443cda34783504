-- The warehouse's current schema version (null when no version was recorded yet).
-- grain: one row
select max(version) as version
from schema_version
