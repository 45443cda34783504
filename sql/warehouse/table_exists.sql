-- Whether the warehouse holds a table of this name (in its own database and schema).
-- grain: one row
select count(*) > 0 as present
from duckdb_tables()
where database_name = current_database() and schema_name = current_schema() and table_name = $name
