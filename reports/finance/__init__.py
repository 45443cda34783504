"""Finance outputs: the workbook, CSV / Parquet extracts, the allocation summary and the tables they show."""
