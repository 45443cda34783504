"""GCP BigQuery billing export → FOCUS line items."""
