"""`kind: azure-export` — Cost Management exports in a Blob Storage container → FOCUS.

```yaml
- name: azure-ea
  kind: azure-export
  uri: https://costexports.blob.core.windows.net/exports/costalloc   # container + root folder
  options:
    dataset: auto        # auto | ActualCost | AmortizedCost | FocusCost | ActualCost+AmortizedCost
```
See `blobs.py` for the URI forms and credentials, `discovery.py` for which runs count,
`dialects.py` for the header dialects, `amounts.py` for BilledCost vs EffectiveCost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING

from costalloc.connectors.azure import transform
from costalloc.connectors.azure.blobs import BlobEntry, BlobStore, open_store
from costalloc.connectors.azure.discovery import Part, Plan, RunCache, find_runs, plan_month
from costalloc.connectors.azure.errors import translate
from costalloc.connectors.azure.options import ExportOptions
from costalloc.connectors.azure.reading import read_parts
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.remote import Stopwatch, host_of
from costalloc.core.confinement import OutsideRoot
from costalloc.core.errors import CostallocError, SourceError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


class AzureExportConnector(transform.AzureCostRows):
    """`kind: azure-export`."""

    def __init__(self, settings: SourceSettings, container_client: ContainerClient | None = None,
                 *, store: BlobStore | None = None) -> None:
        self.name = settings.name
        self.options = ExportOptions.of(settings)
        self.store = store or open_store(settings.uri, account_url=self.options.account_url,
                                         container=container_client,
                                         deadline=self.options.retry_deadline_seconds)
        self._runs = RunCache()

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        """The month's runs; None while the export has none for it. A container or export root
        that does not exist is an error, never "no delivery yet"."""
        stopwatch = Stopwatch()
        try:
            entries = self._listing(period)
            runs = find_runs(self.store, entries, self._runs, source=self.name, period=period)
        except OutsideRoot as error:
            raise SourceError(self.name, period, f"listing `{self.store.description}`: {error}; "
                              "nothing there was read, the previous load stays published") from None
        except CostallocError:
            raise
        except Exception as error:
            raise translate(error, source=self.name, period=period,
                            action=f"listing `{self.store.description}`",
                            endpoint=host_of(self.store.description), elapsed=stopwatch.elapsed,
                            deadline=self.options.retry_deadline_seconds) from error
        plan = plan_month(self.name, period, runs, entries, self.options.dataset,
                          self.store.container_name)
        if plan is None:
            return None
        return Delivery(self.name, period, plan.fingerprint, tuple(p.name for p in plan.parts),
                        _details(plan, self.store),
                        listed=tuple(b.reference for run in plan.runs for b in run.blobs))

    def _listing(self, period: BillingPeriod) -> list[BlobEntry]:
        try:
            entries = self.store.list_blobs()
        except Exception as error:
            if getattr(error, "error_code", None) != "ContainerNotFound":
                raise
            entries = []
        missing = None if entries else self.store.missing()
        if missing is not None:
            raise SourceError(self.name, period,
                              f"{missing}: the export was looked for at `{self.store.description}` "
                              "(`uri` names the container and the export's root folder). Check "
                              "the source's `uri`; nothing was loaded")
        return entries

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        parts = _parts(delivery)
        def fetch(part: Part, suffix: str) -> AbstractContextManager[str]:
            return self._local_copy(part, suffix, delivery.period)

        return read_parts(parts, fetch, source=self.name,
                          period=delivery.period, batch_rows=self.options.batch_rows,
                          currency=self.options.currency)

    @contextmanager
    def _local_copy(self, part: Part, suffix: str, period: BillingPeriod) -> Iterator[str]:
        """The part as a local file; SDK errors become costalloc's, naming the blob."""
        with ExitStack() as stack:
            try:
                path = stack.enter_context(self.store.local_copy(part.name, suffix))
            except FileNotFoundError:
                raise SourceError(self.name, period,
                                  f"`{part.name}` disappeared after it was listed (a newer run "
                                  "replaced it?); the next run reads the newest delivery") from None
            except CostallocError:
                raise
            except Exception as error:
                raise translate(error, source=self.name, period=period,
                                action=f"downloading `{part.name}`") from error
            yield path


def _details(plan: Plan, store: BlobStore) -> dict[str, str]:
    runs = [{"run_id": run.run_id, "scope": run.scope, "dataset": run.dataset,
             "kind": run.kind, "submitted": run.submitted.isoformat(), "manifest": run.source}
            for run in plan.runs]
    parts = [{"name": p.name, "dataset": p.dataset, "keep": p.keep, "rows": p.rows,
              "gzip_encoded": p.gzip_encoded} for p in plan.parts]
    return {"location": store.description, "runs": json.dumps(runs), "parts": json.dumps(parts)}


def _parts(delivery: Delivery) -> tuple[Part, ...]:
    try:
        described = json.loads(delivery.details["parts"])
    except (KeyError, json.JSONDecodeError):
        raise SourceError(delivery.source, delivery.period,
                          "the delivery carries no part list; find it again with find_delivery"
                          ) from None
    return tuple(Part(p["name"], p["dataset"], p["keep"], p["rows"], p["gzip_encoded"])
                 for p in described)
