"""What people read from the warehouse, in three rooms that import one way only:

- `finance`: the workbook, CSV / Parquet extracts, the allocation summary and its tables;
- `planning`: budgets, the monthly review, forecasts, unit costs and threshold breaches
  (reads finance's building blocks, never the other way round);
- `serving`: the read-only HTTP endpoint (reads both).
"""
