"""Re-apply the rules to periods already loaded, without reading any source."""

from __future__ import annotations

import uuid
from pathlib import Path

from prefect import flow

from allocation.publish import AllocationResult
from core.period import BillingPeriod
from core.settings import load_settings
from flows.nightly import allocate, announce


@flow(name="costalloc-reallocate")
def reallocate(config: str = "costalloc.yaml", periods: list[str] | None = None) -> list[
        AllocationResult]:
    settings = load_settings(Path(config))
    run_id = uuid.uuid4().hex[:12]
    results = []
    for period in [BillingPeriod.parse(p) for p in periods or []]:
        result = allocate(settings, period, run_id)
        announce(f"allocated {period}: {result.line_items} line items → {result.allocated_rows} "
              f"rows under rules {result.rules_version}")
        results.append(result)
    return results
