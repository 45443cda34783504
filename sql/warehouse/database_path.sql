-- The file of the warehouse this connection writes to (null for an in-memory one).
-- grain: one row
select path
from duckdb_databases()
where database_name = current_database()
