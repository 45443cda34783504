"""A run with nothing to do ends before any Prefect machinery starts.

Without a Prefect server configured (no `PREFECT_API_URL`), a flow first starts a temporary API
server: about 9 s on two cores, for a run that may only find every delivery already loaded and
every allocation current. So `costalloc run` and `costalloc backfill` triage first
(`flows.triage`: manifests and `ingest_log`, no Prefect import) and, when there is nothing to
load or allocate, say what they found — the lines the flow would say, and the sources past their
usual delivery lag — and end. With a server configured, every run is a flow run and is recorded
there, however little it does; `--force` always runs the flow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, load_settings
from costalloc.flows.prefect_api import api_configured
from costalloc.flows.publish import expected_deliveries, overdue
from costalloc.flows.run_report import Progress, Step
from costalloc.flows.triage import NO_RULES_NOTE, ruleset_of, triage
from costalloc.reports.finance.freshness import freshness
from costalloc.warehouse.connection import connect


def finished_without_prefect(config: Path, periods: list[BillingPeriod] | None,
                             sources: list[str] | None, *, force: bool, tell: Progress,
                             now: datetime | None = None) -> bool:
    """True when the run had nothing to do and no Prefect server records runs: what it found
    has been told. False: run the flow (there is work, a server, `force`, or any doubt)."""
    if force or api_configured():
        return False
    settings = load_settings(config)
    ruleset = ruleset_of(settings)
    now = now or datetime.now(UTC)
    found = triage(settings, ruleset.version, periods, sources, force=False, today=now.date())
    if found.has_work:
        return False
    late = _overdue(settings, now)
    if late is None:
        return False
    if settings.rules is None:
        tell(Step("note", NO_RULES_NOTE))
    for result in found.settled:
        tell(Step("load", result.describe()))
    for period in found.periods:
        tell(Step("allocate", f"{period}: {found.allocation_current[period]}"))
    for source in late:
        tell(Step("note", f"WARNING {source}"))
    return True


def _overdue(settings: Settings, now: datetime) -> list[str] | None:
    """The sources past their usual delivery lag (as the flow's summary finds them), or None
    when the warehouse can't be read now."""
    exists = settings.warehouse.is_file()
    try:  # no warehouse yet: an empty one in memory, where nothing was ever delivered
        con = connect(settings.warehouse if exists else ":memory:", read_only=exists)
    except (CostallocError, duckdb.Error):
        return None
    try:
        return overdue(freshness(con, expected_deliveries(settings), now))
    finally:
        con.close()
