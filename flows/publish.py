"""After a run: what the run page shows (a summary artifact: what was published, and whether
each source is still delivering), and the budget thresholds the published numbers crossed for
the first time (recorded once, an artifact, a webhook)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from costalloc.allocation.loader import load_rules
from costalloc.connectors.registry import kind_of
from costalloc.core.errors import CostallocError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings
from costalloc.reports.finance.freshness import Expected, Freshness, freshness, freshness_markdown
from costalloc.reports.finance.run_summary import summary_markdown
from costalloc.reports.planning.breaches import Breach, breach_markdown, evaluate_thresholds
from costalloc.reports.planning.budgets import budgets_path_beside, load_budgets
from costalloc.reports.planning.notify import notify, webhook_url_from_env
from costalloc.warehouse.connection import connect


@dataclass
class RunOutputs:
    breaches: list[Breach] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)  # sources past their usual delivery lag


def publish_run_outputs(settings: Settings, config: Path, periods: list[BillingPeriod],
                        run_id: str, log: object, now: datetime | None = None) -> RunOutputs:
    """Summary artifact (the run's periods, every source's freshness); budget breaches when
    periods were published and a budgets file exists."""
    outputs = RunOutputs()
    con = connect(settings.warehouse)
    try:
        sources = freshness(con, expected_deliveries(settings), now or datetime.now(UTC))
        outputs.overdue = overdue(sources)
        summary = summary_markdown(con, periods) + "\n" if periods else ""
        _artifact("costalloc-summary", summary + freshness_markdown(sources))
        path = budgets_path_beside(settings.rules, config.parent)
        if not periods or not path.is_file():
            return outputs
        dimensions = load_rules(settings.rules).dimensions if settings.rules else None
        outputs.breaches = evaluate_thresholds(con, load_budgets(path, dimensions), periods,
                                               run_id)
    finally:
        con.close()
    _artifact("budget-breaches", breach_markdown(outputs.breaches))
    try:
        notify(outputs.breaches, webhook_url_from_env())
    except CostallocError as error:  # the breach is recorded; the message names no URL
        getattr(log, "warning", print)(f"budget notification not sent: {error}")
    return outputs


def overdue(sources: list[Freshness]) -> list[str]:
    """The sources past their usual delivery lag, said as the run says them."""
    return [source.describe() for source in sources if source.overdue]


def expected_deliveries(settings: Settings) -> list[Expected]:
    """Every configured source, with its kind's usual delivery lag (`connectors.registry`)."""
    return [Expected(source.name, source.kind, kind_of(source.kind).delivery_lag)
            for source in settings.sources]


def _artifact(key: str, markdown: str) -> None:
    # imported here: `flows.nothing_to_do` uses this module without importing Prefect
    from prefect.artifacts import create_markdown_artifact

    try:
        create_markdown_artifact(markdown=markdown, key=key)
    except Exception:  # outside a Prefect run there is no run page to publish to
        return
