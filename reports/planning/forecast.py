"""Spend per workstream for the coming months, in three scenarios, from the recent trend.

For each currency and workstream, the monthly allocated cost of the last `history` loaded
months (on `EffectiveCost` by default) is divided by its declared seasonal factors and a
least-squares line is fitted through it. From the line's value at the last month (the *level*)
and its slope (the *growth per month*):

    expected(k)     = level + growth · k
    conservative(k) = level + (growth + conservative delta · level) · k     (delta e.g. −5 %)
    accelerated(k)  = level + (growth + accelerated delta · level) · k      (delta e.g. +5 %)

k months after the last month of history, times the month's seasonal factor, never below
zero; then the known events of `events.yaml` apply to every scenario: a `change` in percent
multiplies the month, an `amount` is added. A series that grows by a fixed amount each month
is continued exactly by the expected scenario. The assumptions (history, growth, fit, deltas,
seasonality, events) travel with the numbers.

```yaml
currency: USD                   # of `amount` events (each event may say its own)
scenarios: {conservative: -5, accelerated: 5}   # percentage points of monthly growth
seasonality:                    # month of year → factor; `all`, or one workstream's own
  all: {12: 0.9}
  production_operations: {11: 1.2}
events:
  - {month: 2026-12, workstream: experimentation, amount: 8000, description: fine-tuning run}
  - {from: 2027-01, workstream: production_operations, change: 25, description: support bot GA}
```
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Annotated, Any, Self

import duckdb
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from costalloc.allocation.model import STANDARD_DIMENSIONS, UNALLOCATED
from costalloc.core.currencies import is_currency
from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import quantum
from costalloc.reports.planning.budgets import Basis
from costalloc.reports.planning.review import displayed, percent_text
from costalloc.reports.planning.specfile import Problem, SpecDocument, problems_of, raise_problems, read_spec
from costalloc.reports.planning.trend import Line, exact, fit
from costalloc.sql import load

SCENARIOS = ("conservative", "expected", "accelerated")
DEFAULT_DELTAS = {"conservative": Decimal(-5), "accelerated": Decimal(5)}
DEFAULT_HISTORY = 6
EVENTS_FILE = "events.yaml"
_ALL = "all"
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")



def _period(text: str) -> str:
    BillingPeriod.parse(text)  # ValueError says what the form is
    return text


PeriodText = Annotated[str, AfterValidator(_period)]
Factor = Annotated[Decimal, Field(gt=0, le=100)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EventSpec(_Spec):
    month: PeriodText | None = None
    from_: PeriodText | None = Field(default=None, alias="from")
    to: PeriodText | None = None
    workstream: str
    amount: Decimal | None = None
    change: Decimal | None = Field(default=None, gt=-100, le=10000)
    currency: str | None = None
    description: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if (self.month is None) == (self.from_ is None):
            raise ValueError("give `month` (one month) or `from` (+ `to`): when the event applies")
        if self.month is not None and self.to is not None:
            raise ValueError("`to` goes with `from`")
        if (self.amount is None) == (self.change is None):
            raise ValueError("give `amount` (added to the month) or `change` (percent, e.g. 25 "
                             "or -10), one of them")
        if self.change is not None and self.currency is not None:
            raise ValueError("`currency` goes with `amount`; a `change` applies in every currency")
        if self.from_ and self.to and BillingPeriod.parse(self.to) < BillingPeriod.parse(self.from_):
            raise ValueError(f"`to` ({self.to}) is before `from` ({self.from_})")
        return self


class EventsSpec(_Spec):
    currency: str | None = None
    scenarios: dict[str, Annotated[Decimal, Field(ge=-100, le=100)]] = Field(default_factory=dict)
    seasonality: dict[str, dict[int, Factor]] = Field(default_factory=dict)
    events: list[Any] = Field(default_factory=list)


@dataclass(frozen=True)
class Event:
    workstream: str
    first: BillingPeriod
    last: BillingPeriod | None  # None: one month (`month`), or open-ended `from`
    open_ended: bool
    amount: Decimal | None
    change: Decimal | None  # percent
    currency: str | None
    description: str

    def applies(self, period: BillingPeriod) -> bool:
        if self.open_ended:
            return period >= self.first
        return self.first <= period <= (self.last or self.first)

    def describe(self) -> str:
        when = (f"from {self.first}" if self.open_ended else str(self.first) if self.last is None
                else f"{self.first}..{self.last}")
        what = (f"{'+' if self.change and self.change > 0 else ''}{percent_text(self.change)}"
                if self.change is not None else f"{self.amount:+,} {self.currency}")
        return f"{when} {self.workstream} {what}: {self.description}"


@dataclass(frozen=True)
class Events:
    """The forecast's assumptions a person declares: scenario deltas, seasonality, events."""

    path: Path | None = None
    deltas: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_DELTAS))
    seasonality: Mapping[str, Mapping[int, Decimal]] = field(default_factory=dict)
    events: tuple[Event, ...] = ()

    def factor(self, workstream: str, period: BillingPeriod) -> Decimal:
        own = self.seasonality.get(workstream, {})
        if period.month in own:
            return own[period.month]
        return self.seasonality.get(_ALL, {}).get(period.month, Decimal(1))


def events_path_beside(rules: Path | None, config_dir: Path) -> Path:
    """`events.yaml` beside the rules (beside a rules folder), else beside the configuration."""
    return (config_dir if rules is None else rules.parent) / EVENTS_FILE


def load_events(path: Path, dimensions: Mapping[str, Sequence[str]] | None = None) -> Events:
    """Read and validate an events file; every problem is listed with file:line. With the
    rules' dimensions, workstreams must be declared ones."""
    document = read_spec(path, "events")
    return _resolve(document, dimensions)


def events_from_mapping(data: Mapping[str, Any],
                        dimensions: Mapping[str, Sequence[str]] | None = None) -> Events:
    return _resolve(SpecDocument(Path("<events>"), dict(data), None), dimensions)


def _resolve(document: SpecDocument, dimensions: Mapping[str, Sequence[str]] | None) -> Events:
    problems: list[Problem] = []
    data = document.data
    raw_events = data.get("events") or []
    if not isinstance(raw_events, list):
        problems.append(Problem(("events",), "`events` is a list of entries"))
        raw_events = []
    try:
        top = EventsSpec.model_validate({**data, "events": raw_events})
    except ValidationError as error:
        problems += problems_of(error)
        top = EventsSpec()
    declared = (dimensions or STANDARD_DIMENSIONS).get("workstream",
                                                       STANDARD_DIMENSIONS["workstream"])
    workstreams = [*declared, UNALLOCATED]
    for name in top.scenarios:
        if name not in DEFAULT_DELTAS:
            problems.append(Problem(("scenarios", name), f"unknown scenario `{name}` (expected "
                                    "conservative or accelerated; expected is the trend itself)"))
    deltas = {**DEFAULT_DELTAS, **{k: v for k, v in top.scenarios.items() if k in DEFAULT_DELTAS}}
    if deltas["conservative"] > deltas["accelerated"]:
        problems.append(Problem(("scenarios",), "the conservative delta is above the accelerated "
                                "one"))
    for name, factors in top.seasonality.items():
        if name != _ALL and name not in workstreams:
            problems.append(Problem(("seasonality", name), f"`{name}` is neither `all` nor a "
                                    f"declared workstream ({', '.join(workstreams)})"))
        for month in factors:
            if not 1 <= month <= 12:
                problems.append(Problem(("seasonality", name, str(month)),
                                        f"month {month}: months are 1 (January) to 12"))
    if top.currency is not None and not is_currency(top.currency):
        problems.append(Problem(("currency",), f"`{top.currency}` is not an ISO 4217 code"))
    events = []
    for i, raw in enumerate(top.events):
        loc = ("events", i)
        if not isinstance(raw, dict):
            problems.append(Problem(loc, "an event is a mapping (month:, workstream:, …)"))
            continue
        try:
            spec = EventSpec.model_validate(raw)
        except ValidationError as error:
            problems += problems_of(error, loc)
            continue
        if spec.workstream not in workstreams:
            problems.append(Problem((*loc, "workstream"), f"`{spec.workstream}` is not a "
                                    f"declared workstream ({', '.join(workstreams)})"))
        currency = spec.currency or (top.currency if spec.amount is not None else None)
        if spec.amount is not None and currency is None:
            problems.append(Problem(loc, "an `amount` needs a currency: set `currency` here or "
                                    "at the top of the file"))
        elif currency is not None and not is_currency(currency):
            problems.append(Problem((*loc, "currency"), f"`{currency}` is not an ISO 4217 code"))
        elif spec.amount is not None and currency and spec.amount % quantum(currency) != 0:
            problems.append(Problem((*loc, "amount"), f"{spec.amount} has more decimals than "
                                    f"{currency} has"))
        first = BillingPeriod.parse(spec.month or spec.from_ or "")
        events.append(Event(spec.workstream, first,
                            BillingPeriod.parse(spec.to) if spec.to else None,
                            spec.from_ is not None and spec.to is None, spec.amount, spec.change,
                            currency, spec.description))
    raise_problems(document, problems, "events")
    return Events(document.path if document.node is not None else None, deltas,
                  {k: dict(v) for k, v in top.seasonality.items()}, tuple(events))


# --- the forecast -----------------------------------------------------------------------------

def _ordinal(period: BillingPeriod) -> int:
    return period.year * 12 + period.month - 1


@dataclass(frozen=True)
class Series:
    """One currency × workstream: its history, trend and the three scenarios."""

    currency: str
    workstream: str
    history: tuple[tuple[BillingPeriod, Decimal], ...]
    trend: Line | None  # over the deseasonalized history; None without history
    level: Decimal  # the trend at the last month of history
    months: tuple[BillingPeriod, ...]
    scenarios: Mapping[str, tuple[Decimal, ...]]
    factors: tuple[Decimal, ...]  # seasonal factor of each forecast month
    notes: tuple[tuple[str, ...], ...]  # events applied in each forecast month

    @property
    def growth(self) -> Decimal:
        return self.trend.slope if self.trend else Decimal(0)

    @property
    def growth_rate(self) -> Decimal | None:
        """Growth per month as a share of the level (None when the level is not positive)."""
        return self.growth / self.level if self.level > 0 else None

    def describe(self) -> str:
        step = quantum(self.currency)
        if not self.history:
            return "no history: events only"
        growth = displayed([self.growth], step)[0]
        rate = (f" ({self.growth_rate * 100:+.1f}%/month)" if self.growth_rate is not None
                else "")
        fit_text = (f", R² {self.trend.r_squared:.2f}" if self.trend and len(self.history) > 2
                    and self.trend.r_squared is not None else "")
        return (f"trend {growth:+,} {self.currency}/month{rate} from a level of "
                f"{displayed([self.level], step)[0]:,}{fit_text}, over {len(self.history)} "
                f"month(s)")


@dataclass(frozen=True)
class Forecast:
    start: BillingPeriod
    months: tuple[BillingPeriod, ...]
    basis: Basis
    history_asked: int
    history: tuple[BillingPeriod, ...]  # loaded months the trend is fitted over
    events: Events
    series: tuple[Series, ...]

    @property
    def currencies(self) -> list[str]:
        return sorted({s.currency for s in self.series})

    def of(self, currency: str) -> list[Series]:
        return [s for s in self.series if s.currency == currency]

    def totals(self, currency: str) -> tuple[list[Decimal], dict[str, list[Decimal]]]:
        """Per currency: the history's monthly totals and each scenario's monthly totals."""
        series = self.of(currency)
        actual = [sum((dict(s.history).get(p, Decimal(0)) for s in series), Decimal(0))
                  for p in self.history]
        scenarios = {name: [sum((s.scenarios[name][i] for s in series), Decimal(0))
                            for i in range(len(self.months))] for name in SCENARIOS}
        return actual, scenarios

    def assumptions(self) -> list[str]:
        span = ("none" if not self.history else str(self.history[0])
                if len(self.history) == 1 else f"{self.history[0]}..{self.history[-1]}")
        deltas = self.events.deltas
        lines = [
            f"basis: {self.basis} (fully allocated cost; BilledCost is the invoice view)",
            f"history: {span}, {len(self.history)} loaded month(s) of the {self.history_asked} "
            f"before {self.start}",
            "expected: the least-squares trend of each workstream's monthly cost continued "
            "(level + growth × months ahead)",
            f"conservative: growth {_pp(deltas['conservative'])} of the level per month; "
            f"accelerated: growth {_pp(deltas['accelerated'])}",
            "never below zero; events apply to every scenario, after seasonality",
        ]
        seasonality = [f"{name}: " + ", ".join(f"{_MONTH_NAMES[m - 1]} ×{f.normalize():f}"
                                                for m, f in sorted(factors.items()))
                       for name, factors in self.events.seasonality.items() if factors]
        lines.append("seasonality: " + ("; ".join(seasonality) if seasonality else
                                        "none declared (every month ×1)"))
        if self.events.events:
            lines += ["event: " + e.describe() for e in self.events.events]
        else:
            lines.append("events: none")
        return lines


def _pp(delta: Decimal) -> str:
    return f"{'+' if delta >= 0 else '−'}{abs(delta).normalize():f} percentage points"


def monthly_history(con: duckdb.DuckDBPyConnection, first: BillingPeriod, last: BillingPeriod,
                    basis: Basis) -> dict[tuple[str, str], dict[BillingPeriod, Decimal]]:
    """{(currency, workstream): {period: cost}} for the periods of `first`..`last` with
    allocated cost."""
    rows = con.sql(load("reports/forecast_monthly_spend"), params={
        "first_period": str(first), "last_period": str(last)}).fetchall()
    history: dict[tuple[str, str], dict[BillingPeriod, Decimal]] = defaultdict(dict)
    for period, currency, workstream, billed, effective in rows:
        amount = Decimal(billed if basis == "BilledCost" else effective)
        history[(str(currency), str(workstream))][BillingPeriod.parse(str(period))] = amount
    return dict(history)


def forecast(con: duckdb.DuckDBPyConnection, start: BillingPeriod, months: int, *,
             events: Events | None = None, history: int = DEFAULT_HISTORY,
             basis: Basis = "EffectiveCost") -> Forecast:
    """Forecast `months` months from `start` from the `history` months before it."""
    if months < 1 or history < 1:
        raise ValueError("a forecast needs at least one month ahead and one month of history")
    first = start
    for _ in range(history):
        first = first.previous()
    actuals = monthly_history(con, first, start.previous(), basis)
    return project_series(actuals, start, months, events or Events(), history_asked=history,
                          basis=basis)


def project_series(actuals: Mapping[tuple[str, str], Mapping[BillingPeriod, Decimal]],
                   start: BillingPeriod, months: int, events: Events, *,
                   history_asked: int = DEFAULT_HISTORY,
                   basis: Basis = "EffectiveCost") -> Forecast:
    """The forecast from monthly actuals {(currency, workstream): {period: cost}} (pure)."""
    loaded = sorted({p for by_period in actuals.values() for p in by_period if p < start})
    ahead = [start]
    while len(ahead) < months:
        ahead.append(ahead[-1].next())
    keys = set(actuals) | {(e.currency, e.workstream) for e in events.events
                           if e.amount is not None and e.currency is not None
                           and any(e.applies(p) for p in ahead)}
    series = []
    for currency, workstream in sorted(keys):
        by_period = actuals.get((currency, workstream), {})
        first_own = min((p for p in by_period if p < start), default=None)
        points = [(p, by_period.get(p, Decimal(0))) for p in loaded
                  if first_own is not None and p >= first_own]
        series.append(_series(currency, workstream, points, ahead, events))
    return Forecast(start, tuple(ahead), basis, history_asked, tuple(loaded), events,
                    tuple(series))


def _series(currency: str, workstream: str, points: Sequence[tuple[BillingPeriod, Decimal]],
            ahead: Sequence[BillingPeriod], events: Events) -> Series:
    with localcontext() as context:
        context.prec = 60
        trend: Line | None = None
        level = Decimal(0)
        last = ahead[0].previous()
        if points:
            xs = [_ordinal(p) for p, _ in points]
            ys = [amount / events.factor(workstream, p) for p, amount in points]
            trend = fit(xs, ys)
            last = points[-1][0]
            level = trend.at(_ordinal(last))
        growth = trend.slope if trend else Decimal(0)
        scenarios: dict[str, list[Decimal]] = {name: [] for name in SCENARIOS}
        notes = []
        factors = []
        for period in ahead:
            k = _ordinal(period) - _ordinal(last)
            factor = events.factor(workstream, period)
            factors.append(factor)
            applied = [e for e in events.events if e.workstream == workstream and e.applies(period)
                       and (e.change is not None or e.currency == currency)]
            notes.append(tuple(e.describe() for e in applied))
            for name in SCENARIOS:
                delta = events.deltas.get(name, Decimal(0)) / 100 * max(level, Decimal(0))
                value = max(Decimal(0), (level + (growth + delta) * k) * factor)
                for event in applied:
                    if event.change is not None:
                        value = value * (1 + event.change / 100)
                for event in applied:
                    if event.amount is not None:
                        value += event.amount
                scenarios[name].append(exact(max(Decimal(0), value)))
    return Series(currency, workstream, tuple(points), trend, exact(level), tuple(ahead),
                  {name: tuple(values) for name, values in scenarios.items()}, tuple(factors),
                  tuple(notes))


# --- the terminal table -----------------------------------------------------------------------

def render(result: Forecast) -> str:
    """Per currency and workstream the three scenarios by month beside its trend and events,
    then the totals and the assumptions. Each column is rounded with largest remainder, so
    the months add up to the total shown."""
    last = result.months[-1]
    lines = [f"Forecast of {result.basis} per workstream, {result.start} to {last} "
             f"({len(result.months)} month(s))"]
    if not result.series:
        lines.append(f"No allocated cost in the {result.history_asked} month(s) before "
                     f"{result.start} to forecast from.")
    header = f"{'month':<9} {'conservative':>15} {'expected':>15} {'accelerated':>15}  events"
    for currency in result.currencies:
        step = quantum(currency)
        for s in result.of(currency):
            lines += ["", f"[{currency}] {s.workstream}: {s.describe()}", header]
            columns = [displayed(list(s.scenarios[n]), step) for n in SCENARIOS]
            for i, period in enumerate(s.months):
                note = "; ".join(s.notes[i])
                if s.factors[i] != 1:
                    note = f"season ×{s.factors[i].normalize():f}" + (f"; {note}" if note else "")
                lines.append(f"{period!s:<9} " + " ".join(f"{c[i]:>15,}" for c in columns)
                             + (f"  {note}" if note else ""))
            lines.append(f"{'total':<9} " + " ".join(f"{sum(c, Decimal(0)):>15,}"
                                                     for c in columns))
        actual, totals = result.totals(currency)
        lines += ["", f"[{currency}] all workstreams"]
        if result.history:
            shown = displayed(actual, step)
            lines.append("actual   " + "  ".join(f"{p}: {a:,}" for p, a in
                                                 zip(result.history, shown, strict=True)))
        lines.append(header.removesuffix("  events"))
        columns = [displayed(totals[n], step) for n in SCENARIOS]
        for i, period in enumerate(result.months):
            lines.append(f"{period!s:<9} " + " ".join(f"{c[i]:>15,}" for c in columns))
        lines.append(f"{'total':<9} " + " ".join(f"{sum(c, Decimal(0)):>15,}" for c in columns))
    lines += ["", "Assumptions"] + [f"- {a}" for a in result.assumptions()]
    return "\n".join(lines)
