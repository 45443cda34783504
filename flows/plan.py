"""Which (source, billing period) partitions a run looks at.

Unless periods are named, a run reads every source's current month, and the previous month as
long as that source's provider may still restate it: AWS rewrites last month's CUR for about
two weeks after it ends, GCP's invoice month closes within days, Azure finalizes last month's
charges in the first days of the next. Each kind has a default window (`RESTATEMENT_DAYS`);
a source overrides it with `options.restatement_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from costalloc.core.errors import ConfigurationError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings, SourceSettings

# Days after a month ends during which its provider may still rewrite it.
RESTATEMENT_DAYS: dict[str, int] = {
    "aws-cur": 15,             # CUR restates month N-1 during the first ~two weeks of month N
    "focus": 15,               # any provider's FOCUS export: the longest window (AWS's)
    "gcp-bigquery": 5,         # rows for a day keep arriving 1–5 days; the invoice month closes
    "azure-export": 10,        # charges finalize in the first days of the next month
    "azure-cost-details": 10,
    "asset-register": 0,       # our own register: a past month never changes by itself
}
# Source options read by the flows, not by the source's connector.
FLOW_OPTIONS = frozenset({"restatement_days"})


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
        restatement_days(source)  # a bad option fails before any I/O
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
    value = source.options.get("restatement_days", RESTATEMENT_DAYS.get(source.kind, 15))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366:
        raise ConfigurationError(
            f"source `{source.name}`: `options.restatement_days` is `{value}`; expected a whole "
            "number of days from 0 to 366 (how long after a month ends its provider may still "
            "restate it)")
    return value


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
