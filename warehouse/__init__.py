"""The DuckDB warehouse: schema, atomic partition replacement, and the logs of what loaded."""
