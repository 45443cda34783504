"""What finance reads: summaries, extracts and workbooks built from the warehouse."""
