"""Which (source, billing period) partitions a run looks at.

Unless periods are named, a run reads every source's current month, and the previous month as
long as that source's provider may still restate it. Each kind's window is in the source
registry (`connectors.registry`: AWS rewrites last month's CUR for about two weeks, GCP's
invoice month closes within days ...); a source overrides it with `options.restatement_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from costalloc.connectors.options import SourceOptions
from costalloc.connectors.registry import kind_of, source_options
from costalloc.core.errors import ConfigurationError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, SourceSettings

# Source options read by the flows, not by the source's connector.
FLOW_OPTIONS = SourceOptions.flow_options()


@dataclass(frozen=True, eq=False)
class Partition:
    """The unit of loading: one source's delivery of one billing period."""

    source: SourceSettings
    period: BillingPeriod

    @property
    def name(self) -> str:
        return f"{self.source.name} {self.period}"


def plan(settings: Settings, periods: list[BillingPeriod] | None, sources: list[str] | None,
         today: date) -> list[Partition]:
    """The partitions to look at, period by period (oldest first), sources in config order."""
    chosen = [settings.source(name) for name in sources] if sources else list(settings.sources)
    for source in chosen:
        source_options(source)  # a bad option fails before any I/O
    partitions = [Partition(source, period) for source in chosen
                  for period in (periods or open_periods(source, today))]
    order = {source.name: n for n, source in enumerate(chosen)}
    unique = {(p.source.name, p.period): p for p in partitions}
    return sorted(unique.values(), key=lambda p: (p.period, order[p.source.name]))


def open_periods(source: SourceSettings, today: date) -> list[BillingPeriod]:
    """The current month, and the previous one until its restatement window closes."""
    current = BillingPeriod.containing(today)
    closes = current.first_day + timedelta(days=restatement_days(source))
    return [current.previous(), current] if today < closes else [current]


def restatement_days(source: SourceSettings) -> int:
    """The source's `restatement_days` option, else its kind's window."""
    chosen = source_options(source).restatement_days
    return kind_of(source.kind).restatement_days if chosen is None else chosen


def connector_settings(source: SourceSettings) -> SourceSettings:
    """`source` without the options only the flows read, as its connector expects it."""
    if not FLOW_OPTIONS & set(source.options):
        return source
    options = {k: v for k, v in source.options.items() if k not in FLOW_OPTIONS}
    return source.model_copy(update={"options": options})


def parse_periods(texts: list[str]) -> list[BillingPeriod]:
    """`YYYY-MM` or `YYYY-MM..YYYY-MM` (both ends included), sorted, each period once."""
    periods: set[BillingPeriod] = set()
    for text in texts:
        first, dots, last = text.partition("..")
        try:
            start = BillingPeriod.parse(first)
            periods.update(start.through(BillingPeriod.parse(last)) if dots else [start])
        except ValueError as error:
            raise ConfigurationError(f"periods: {error}") from None
    return sorted(periods)
