"""After a run: what the run page shows (a summary artifact), and the budget thresholds the
published numbers crossed for the first time (recorded once, an artifact, a webhook)."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact

from costalloc.allocation.loader import load_rules
from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings
from costalloc.reports.finance.run_summary import summary_markdown
from costalloc.reports.planning.breaches import Breach, breach_markdown, evaluate_thresholds
from costalloc.reports.planning.budgets import budgets_path_beside, load_budgets
from costalloc.reports.planning.notify import notify, webhook_url_from_env
from costalloc.warehouse.connection import connect


def publish_run_outputs(settings: Settings, config: Path, periods: list[BillingPeriod],
                        run_id: str, log: object) -> list[Breach]:
    """Summary artifact for the run's periods; budget breaches when a budgets file exists."""
    if not periods:
        return []
    con = connect(settings.warehouse)
    try:
        _artifact("costalloc-summary", summary_markdown(con, periods))
        path = budgets_path_beside(settings.rules, config.parent)
        if not path.is_file():
            return []
        dimensions = load_rules(settings.rules).dimensions if settings.rules else None
        breaches = evaluate_thresholds(con, load_budgets(path, dimensions), periods, run_id)
    finally:
        con.close()
    _artifact("budget-breaches", breach_markdown(breaches))
    try:
        notify(breaches, webhook_url_from_env())
    except CostallocError as error:  # the breach is recorded; the message names no URL
        getattr(log, "warning", print)(f"budget notification not sent: {error}")
    return breaches


def _artifact(key: str, markdown: str) -> None:
    try:
        create_markdown_artifact(markdown=markdown, key=key)
    except Exception:  # outside a Prefect run there is no run page to publish to
        return
