"""Re-apply the rules to periods already loaded, without reading any source."""

from __future__ import annotations

from prefect import flow

from costalloc.allocation.publish import AllocationResult
from costalloc.core.errors import ConfigurationError
from costalloc.core.settings import load_settings
from costalloc.flows.loading import new_run_id
from costalloc.flows.nightly import allocate, announce, config_path
from costalloc.flows.plan import parse_periods
from costalloc.flows.triage import NO_RULES_NOTE


@flow(name="costalloc-reallocate")
def reallocate(config: str | None = None, periods: list[str] | None = None) -> list[
        AllocationResult]:
    """Allocate `periods` (`YYYY-MM` or `YYYY-MM..YYYY-MM`) again under the current rules."""
    if not periods:
        raise ConfigurationError("reallocate needs `periods`, e.g. [\"2026-10\"]")
    settings = load_settings(config_path(config))
    if settings.rules is None:
        announce(NO_RULES_NOTE)
    run_id = new_run_id()
    results = []
    for period in parse_periods(periods):
        result = allocate(settings, period, run_id)
        announce(f"allocated {period}: {result.line_items} line items → {result.allocated_rows} "
                 f"rows under rules {result.rules_version}")
        results.append(result)
    return results
