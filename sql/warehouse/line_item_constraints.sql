-- The columns of `line_items` a row can break: NOT NULL ones and JSON ones.
-- grain: one row per such column, in table order
select column_name, not is_nullable as required, data_type = 'JSON' as is_json
from duckdb_columns()
where schema_name = 'main' and table_name = 'line_items'
  and (not is_nullable or data_type = 'JSON')
order by column_index
