"""GCP Cloud Billing export (BigQuery, standard or detailed) → FOCUS line items.

```yaml
sources:
  - name: gcp-main
    kind: gcp-bigquery
    options:
      table: my-billing-project.billing_export.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9
      project: my-billing-project     # runs (and pays for) the queries; default: the table's
      location: US                    # the dataset's location
      partition_lookback_days: 7      # _PARTITIONTIME pruning margin before the month starts
  - name: gcp-dump                    # file mode: the same table dumped as Parquet
    kind: gcp-bigquery
    uri: gs://my-bucket/billing-dump  # or s3://... or a local folder
```

The billing period of a row is its `invoice.month`. Credentials come only from Application
Default Credentials. See `normalize` (FOCUS mapping, credits), `labels` (Tags prefixes),
`fingerprint` (when a month is read again).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costalloc.connectors.gcp.connector import BigQueryExportConnector

__all__ = ["BigQueryExportConnector"]


def __getattr__(name: str) -> object:
    """The connector is imported on first use: the registry reads this package's options
    (`config`) without importing google-cloud-bigquery."""
    if name in __all__:
        return getattr(importlib.import_module("costalloc.connectors.gcp.connector"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
