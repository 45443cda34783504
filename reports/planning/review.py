"""The monthly review: allocated cost against the budgets, pilots, and what moved.

For one billing period and every budget line: the budget, the actual on the line's basis
(`EffectiveCost` unless the budgets file says `BilledCost`) and both FOCUS amounts beside it,
the variance (actual − budget: positive is over budget), the share used, the thresholds
crossed, and two projections to month end from the daily spend (UTC days of
`ChargePeriodStart`) so far:

- **linear**: month to date ÷ days elapsed × days in the month (every charge extrapolated);
- **usage curve**: month to date + the remaining days of usage at the recent *trend* of the
  daily usage (a least-squares line over the last 7 days elapsed, never below zero). Purchases,
  taxes, credits and adjustments are counted as booked, not extrapolated.

A closed month (every day elapsed) projects to its actual. Pilots are compared with their cap
(spend on days from their start) and their end date (spend on days after it is flagged). The
largest movers are the dimension values whose cost changed most since the previous month, each
with the services that drove the change.

Everything is computed in exact decimals; only `render` and the sheet round, with the
largest-remainder method, so displayed rows add up to displayed totals.
"""

from __future__ import annotations

import calendar
import re
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

import duckdb

from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import largest_remainder, quantum
from costalloc.reports.planning.budgets import Basis, BudgetLine, Budgets, Pilot
from costalloc.reports.planning.trend import exact, fit
from costalloc.sql import load

WINDOW_DAYS = 7  # the usage curve's trend is fitted over this many most recent days
MOVERS_PER_DIMENSION = 3
DRIVERS_PER_MOVER = 3
_DIMENSION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_STANDARD_ORDER = {"environment": 0, "workstream": 1, "cost_type": 2}


# --- spend as read from the warehouse ---------------------------------------------------------

@dataclass(frozen=True)
class SpendRow:
    """Allocated cost of one charge day and dimension combination (`budget_spend.sql`)."""

    period: str
    currency: str
    day: date
    usage: bool
    values: Mapping[str, str | None]
    billed: Decimal
    effective: Decimal

    def amount(self, basis: Basis) -> Decimal:
        return self.billed if basis == "BilledCost" else self.effective


def spend_rows(con: duckdb.DuckDBPyConnection, dimensions: Sequence[str], first: BillingPeriod,
               last: BillingPeriod) -> list[SpendRow]:
    """Daily allocated cost of `first`..`last` by the values of `dimensions`."""
    names = [name for name in dimensions if _DIMENSION_NAME.match(name)]
    rows = con.sql(load("reports/budget_spend"), params={
        "dimension_paths": [f"$.{name}" for name in names], "first_period": str(first),
        "last_period": str(last)}).fetchall()
    return [SpendRow(str(period), str(currency), day, bool(usage),
                     dict(zip(names, values or [None] * len(names), strict=True)),
                     Decimal(billed), Decimal(effective))
            for period, currency, day, usage, values, billed, effective in rows]


def last_day(period: BillingPeriod) -> date:
    return date(period.year, period.month, calendar.monthrange(period.year, period.month)[1])


# --- projections ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Projection:
    """Month-end projections of a month-to-date amount."""

    linear: Decimal
    curve: Decimal
    run_rate: Decimal  # the usage trend's value on the last elapsed day, per day
    daily_trend: Decimal  # how much the daily usage grows per day on that trend


def project(actual: Decimal, daily_usage: Sequence[Decimal], days_in_month: int, *,
            window: int = WINDOW_DAYS) -> Projection:
    """Project `actual` (month to date, everything booked so far) to month end.

    `daily_usage` holds the usage cost of each elapsed day, day 1 first (zero for days without
    any). The linear projection scales `actual` by days; the usage curve adds, for each
    remaining day, the least-squares line through the last `window` days' usage at that day
    (never below zero): a month whose usage climbs projects higher than its average says.
    """
    elapsed = len(daily_usage)
    if elapsed == 0:
        raise ValueError("nothing to project: no day of the month has elapsed")
    if elapsed > days_in_month:
        raise ValueError(f"{elapsed} days elapsed in a month of {days_in_month}")
    recent = list(daily_usage[-window:])
    start = elapsed - len(recent) + 1
    trend = fit(list(range(start, elapsed + 1)), recent)
    with localcontext() as context:
        context.prec = 60
        linear = actual * days_in_month / elapsed
        remaining = sum((max(Decimal(0), trend.at(day))
                         for day in range(elapsed + 1, days_in_month + 1)), Decimal(0))
        curve = actual + remaining
    return Projection(exact(linear), exact(curve), exact(trend.at(elapsed)), exact(trend.slope))


# --- budget lines -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LineReview:
    line: BudgetLine
    budget: Decimal | None  # None: the line budgets nothing for this period
    billed: Decimal
    effective: Decimal
    projection: Projection | None  # None: no day of the month has data yet
    other_currencies: tuple[tuple[str, Decimal], ...] = ()  # same scope, other currencies

    @property
    def actual(self) -> Decimal:
        return self.billed if self.line.basis == "BilledCost" else self.effective

    @property
    def variance(self) -> Decimal | None:
        """actual − budget: positive is over budget."""
        return None if self.budget is None else self.actual - self.budget

    @property
    def used(self) -> Decimal | None:
        return _ratio(self.actual, self.budget)

    @property
    def projected_used(self) -> Decimal | None:
        return None if self.projection is None else _ratio(self.projection.curve, self.budget)

    @property
    def crossed(self) -> tuple[Decimal, ...]:
        """Thresholds (percent) the actual has reached."""
        return _crossed(self.actual, self.budget, self.line.thresholds)

    @property
    def projected_crossings(self) -> tuple[Decimal, ...]:
        """Thresholds not reached yet that the usage-curve projection reaches by month end."""
        if self.projection is None:
            return ()
        reached = set(self.crossed)
        return tuple(t for t in _crossed(self.projection.curve, self.budget, self.line.thresholds)
                     if t not in reached)

    def status(self, period: BillingPeriod) -> str:
        if self.budget is None:
            return f"no budget for {period}"
        if self.actual > self.budget:
            return "over budget"
        if self.crossed:
            return f"{percent_text(self.crossed[-1])} crossed"
        if self.projected_crossings:
            return f"projected to cross {percent_text(self.projected_crossings[0])}"
        return "on track"


def _ratio(part: Decimal, whole: Decimal | None) -> Decimal | None:
    if whole is None or whole == 0:
        return None
    with localcontext() as context:
        context.prec = 40
        return part / whole


def _crossed(amount: Decimal, budget: Decimal | None,
             thresholds: Iterable[Decimal]) -> tuple[Decimal, ...]:
    if budget is None:
        return ()
    if budget == 0:  # nothing may be spent: any spend crosses every threshold
        return tuple(thresholds) if amount > 0 else ()
    return tuple(t for t in thresholds if amount * 100 >= budget * t)


def percent_text(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def review_line(line: BudgetLine, rows: Sequence[SpendRow], period: BillingPeriod,
                as_of: date | None) -> LineReview:
    """`line` against the spend `rows` of `period` (already cut at the as-of day)."""
    budget = line.amount(period)
    billed = effective = Decimal(0)
    others: dict[str, Decimal] = defaultdict(Decimal)
    first = period.first_day
    elapsed = _elapsed(period, as_of)
    daily = [Decimal(0)] * elapsed
    for row in rows:
        if not line.scope.matches(row.values):
            continue
        if row.currency != line.currency:
            others[row.currency] += row.amount(line.basis)
            continue
        billed += row.billed
        effective += row.effective
        index = (row.day - first).days
        if row.usage and 0 <= index < elapsed:
            daily[index] += row.amount(line.basis)
    actual = billed if line.basis == "BilledCost" else effective
    projection = project(actual, daily, last_day(period).day) if elapsed else None
    return LineReview(line, budget, billed, effective, projection,
                      tuple(sorted((c, a) for c, a in others.items() if a)))


def _elapsed(period: BillingPeriod, as_of: date | None) -> int:
    if as_of is None or as_of < period.first_day:
        return 0
    return (min(as_of, last_day(period)) - period.first_day).days + 1


# --- pilots -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PilotReview:
    pilot: Pilot
    as_of: date | None
    to_date: Decimal  # spend on days from the pilot's start through the as-of day
    in_period: Decimal  # of which in the reviewed billing period
    after_end: Decimal  # of which on days after the pilot's end
    after_end_in_period: Decimal  # of which in the reviewed billing period
    last_spend_day: date | None

    @property
    def used(self) -> Decimal | None:
        return _ratio(self.to_date, self.pilot.cap)

    @property
    def over_cap(self) -> bool:
        return self.to_date > self.pilot.cap

    @property
    def past_end(self) -> bool:
        """Spend recorded on days after the pilot's end."""
        return self.after_end != 0

    @property
    def crossed(self) -> tuple[Decimal, ...]:
        return _crossed(self.to_date, self.pilot.cap, self.pilot.thresholds)

    @property
    def flagged(self) -> bool:
        return self.over_cap or self.past_end

    def status(self) -> str:
        currency = self.pilot.currency
        problems = []
        if self.past_end:
            problems.append(f"past its end ({self.pilot.end}): {_plain(self.after_end, currency)} "
                            f"{currency} spent after it")
        if self.over_cap:
            problems.append(f"over its cap by {_plain(self.to_date - self.pilot.cap, currency)} "
                            f"{currency}")
        if problems:
            return "; ".join(problems)
        if self.as_of is None or self.as_of < self.pilot.start:
            return "not started"
        if self.as_of > self.pilot.end:
            return "ended, no spend after its end"
        left = (self.pilot.end - self.as_of).days
        return f"running, {left} day(s) left" + (
            f", {percent_text(self.crossed[-1])} of the cap reached" if self.crossed else "")


def review_pilot(pilot: Pilot, rows: Sequence[SpendRow], period: BillingPeriod,
                 as_of: date | None) -> PilotReview:
    """`pilot` against `rows` (every billing period from its start's through `period`)."""
    to_date = in_period = after_end = after_end_in_period = Decimal(0)
    last_spend: date | None = None
    for row in rows:
        if (row.currency != pilot.currency or row.day < pilot.start
                or not pilot.scope.matches(row.values)):
            continue
        amount = row.amount(pilot.basis)
        to_date += amount
        if row.period == str(period):
            in_period += amount
        if row.day > pilot.end:
            after_end += amount
            if row.period == str(period):
                after_end_in_period += amount
        if amount and (last_spend is None or row.day > last_spend):
            last_spend = row.day
    return PilotReview(pilot, as_of, to_date, in_period, after_end, after_end_in_period,
                       last_spend)


# --- movers -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Driver:
    service: str
    previous: Decimal
    current: Decimal

    @property
    def change(self) -> Decimal:
        return self.current - self.previous


@dataclass(frozen=True)
class Mover:
    currency: str
    dimension: str
    value: str
    previous: Decimal
    current: Decimal
    drivers: tuple[Driver, ...]

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def change_ratio(self) -> Decimal | None:
        return _ratio(self.change, abs(self.previous) if self.previous else None)

    @property
    def what(self) -> str:
        if self.previous == 0:
            return "new"
        if self.current == 0:
            return "gone"
        return "up" if self.change > 0 else "down"

    def explain(self) -> str:
        """The services that drove the change, largest first: `Amazon EC2 +1,204.10 (new)`."""
        parts = []
        for d in self.drivers:
            note = " (new)" if d.previous == 0 else " (gone)" if d.current == 0 else ""
            parts.append(f"{d.service} {_signed(d.change, self.currency)}{note}")
        return "; ".join(parts)


def movers(con: duckdb.DuckDBPyConnection, period: BillingPeriod, basis: Basis, *,
           per_dimension: int = MOVERS_PER_DIMENSION,
           drivers: int = DRIVERS_PER_MOVER) -> list[Mover]:
    """Per currency and dimension, the values whose cost changed most since the previous
    month (largest absolute change first), each with the services that moved most in it.
    None when nothing is allocated in the previous month (everything would be `new`)."""
    previous = period.previous()
    names = [str(r[0]) for r in con.sql(load("reports/review_dimension_names"), params={
        "first_period": str(previous), "last_period": str(period)}).fetchall()]
    names = sorted((n for n in names if _DIMENSION_NAME.match(n)),
                   key=lambda n: (_STANDARD_ORDER.get(n, len(_STANDARD_ORDER)), n))
    rows = con.sql(load("reports/review_movers"), params={
        "dimension_paths": [f"$.{n}" for n in names], "first_period": str(previous),
        "last_period": str(period)}).fetchall()
    if not any(row[0] == str(previous) for row in rows):
        return []  # nothing allocated the month before: no comparison, rather than all "new"
    totals: dict[tuple[str, str, str], list[Decimal]] = {}
    by_service: dict[tuple[str, str, str], dict[str, list[Decimal]]] = defaultdict(dict)
    for row_period, currency, values, service, billed, effective in rows:
        slot = 1 if row_period == str(period) else 0
        amount = Decimal(billed if basis == "BilledCost" else effective)
        for name, value in zip(names, values or [None] * len(names), strict=True):
            key = (str(currency), name, "(none)" if value is None else str(value))
            totals.setdefault(key, [Decimal(0), Decimal(0)])[slot] += amount
            by_service[key].setdefault(str(service), [Decimal(0), Decimal(0)])[slot] += amount
    found: list[Mover] = []
    for currency in sorted({k[0] for k in totals}):
        for name in names:
            keys = [k for k in totals if k[0] == currency and k[1] == name
                    and totals[k][1] != totals[k][0]]
            keys.sort(key=lambda k: (-abs(totals[k][1] - totals[k][0]), k[2]))
            for key in keys[:per_dimension]:
                services = [Driver(s, p, c) for s, (p, c) in by_service[key].items() if p != c]
                services.sort(key=lambda d: (-abs(d.change), d.service))
                found.append(Mover(currency, name, key[2], totals[key][0], totals[key][1],
                                   tuple(services[:drivers])))
    return found


# --- the review -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Review:
    budgets: Budgets
    period: BillingPeriod
    as_of: date | None  # the last charge day counted (None: nothing allocated yet)
    lines: tuple[LineReview, ...]
    pilots: tuple[PilotReview, ...]
    movers: tuple[Mover, ...]
    spend: Mapping[str, tuple[Decimal, Decimal]]  # currency → (BilledCost, EffectiveCost), all
    uncovered: Mapping[str, Decimal]  # currency → cost on the file's basis no line covers

    @property
    def basis(self) -> Basis:
        return self.budgets.basis

    @property
    def days_in_month(self) -> int:
        return last_day(self.period).day

    @property
    def elapsed_days(self) -> int:
        return _elapsed(self.period, self.as_of)

    @property
    def complete(self) -> bool:
        return self.elapsed_days == self.days_in_month

    @property
    def currencies(self) -> list[str]:
        return sorted({r.line.currency for r in self.lines} | set(self.spend))

    def overlapping(self, currency: str) -> list[tuple[str, str]]:
        """Pairs of lines in `currency` some cost could count towards twice."""
        lines = [r.line for r in self.lines if r.line.currency == currency]
        return [(a.id, b.id) for i, a in enumerate(lines) for b in lines[i + 1:]
                if a.scope.overlaps(b.scope)]

    def basis_total(self, currency: str) -> Decimal:
        """All allocated cost of `currency` in the period, on the budgets file's basis."""
        billed, effective = self.spend.get(currency, (Decimal(0), Decimal(0)))
        return billed if self.basis == "BilledCost" else effective


def review(con: duckdb.DuckDBPyConnection, budgets: Budgets, period: BillingPeriod, *,
           as_of: date | None = None, movers_per_dimension: int = MOVERS_PER_DIMENSION) -> Review:
    """Review `period` against `budgets`. `as_of` cuts the month at that day (a review as it
    stood then); by default the last day of the month with allocated cost."""
    rows, as_of = period_spend(con, budgets, period, as_of)
    lines = tuple(review_line(line, rows, period, as_of) for line in budgets.lines)
    pilots = tuple(review_pilots(con, budgets, period, as_of, rows))
    spend: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    uncovered: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        spend[row.currency][0] += row.billed
        spend[row.currency][1] += row.effective
        if not any(line.currency == row.currency and line.scope.matches(row.values)
                   for line in budgets.lines):
            uncovered[row.currency] += row.amount(budgets.basis)
    return Review(budgets, period, as_of, lines, pilots,
                  tuple(movers(con, period, budgets.basis, per_dimension=movers_per_dimension)),
                  {c: (b, e) for c, (b, e) in spend.items()}, dict(uncovered))


def review_pilots(con: duckdb.DuckDBPyConnection, budgets: Budgets, period: BillingPeriod,
                  as_of: date | None, period_rows: Sequence[SpendRow]) -> Iterable[PilotReview]:
    """Every pilot as of `as_of`: `period_rows` are the period's own spend rows (cut at the
    as-of day); earlier periods back to the first pilot's start are read here."""
    started = [p for p in budgets.pilots if p.start <= last_day(period)]
    rows: list[SpendRow] = []
    if started:
        first = min(BillingPeriod.containing(p.start) for p in started)
        earlier = spend_rows(con, budgets.dimension_names, first, period.previous()) if (
            first < period) else []
        cutoff = as_of or last_day(period)
        rows = [r for r in earlier if r.day <= cutoff] + list(period_rows)
    for pilot in budgets.pilots:  # a month without data yet is judged as of its last day
        yield review_pilot(pilot, rows if pilot in started else [], period,
                           as_of or last_day(period))


def period_spend(con: duckdb.DuckDBPyConnection, budgets: Budgets, period: BillingPeriod,
                 as_of: date | None = None) -> tuple[list[SpendRow], date | None]:
    """The period's spend rows by the budgets' dimensions, cut at `as_of` when given, and the
    as-of day: the given one, else the last day of the month with allocated cost."""
    rows = spend_rows(con, budgets.dimension_names, period, period)
    if as_of is not None:
        return [r for r in rows if r.day <= as_of], as_of
    in_month = [r.day for r in rows if period.first_day <= r.day <= last_day(period)]
    return rows, max(in_month, default=None)


# --- the terminal table -----------------------------------------------------------------------

WIDTH = 120  # columns the text fits in; ids are never cut, longer rows wrap under themselves
_INDENT = "    "


def render(result: Review) -> str:
    """The review as fixed-width text, at most `WIDTH` columns (a line id longer than that
    excepted). Amounts are rounded to the currency's minor unit with largest remainder per
    column; variance is the displayed actual − the displayed budget. Each budget line is a row
    of figures and status, then its owner, thresholds and projections on the next line."""
    period = result.period
    lines = [f"Budget review, {period}{_as_of_text(result)}"]
    source = result.budgets.path or "budgets"
    lines += _wrapped(f"Budgets: {source} (version {result.budgets.version or '-'}); amounts on "
                      f"{result.basis} unless a line says otherwise", indent="")
    lines.append("variance = actual − budget (positive: over budget); usage curve: projected to "
                 "month end on the recent usage trend")
    for currency in result.currencies:
        block = [r for r in result.lines if r.line.currency == currency]
        lines += ["", f"[{currency}]"]
        lines += _line_table(result, currency, block)
    if result.pilots:
        lines += ["", "Pilots (time-boxed experiments)"]
        lines += _pilot_table(result)
    if not result.movers:
        lines += ["", f"Largest movers vs {period.previous()}: no allocated cost in "
                      f"{period.previous()} to compare with, or nothing changed"]
    else:
        lines += ["", f"Largest movers vs {period.previous()} ({result.basis}), with the "
                      "services that moved most"]
        lines += _mover_rows(result.movers)
    return "\n".join(lines)


def _mover_rows(movers: Sequence[Mover]) -> list[str]:
    shown = [(m, *displayed_pair(m.previous, m.current, m.currency)) for m in movers]
    amount = max(len(f"{v:,}") for _, p, c in shown for v in (p, c))
    labels = [f"[{m.currency}] {m.dimension}={m.value}" for m in movers]
    label_width = _key_width(labels, "", 2 * amount + 40)
    out = []
    for (m, previous, current), label in zip(shown, labels, strict=True):
        ratio = f" ({_percent(m.change_ratio, signed=True)})" if m.change_ratio is not None else ""
        out += _row(label, label_width, f"{previous:>{amount},} → {current:>{amount},}  ",
                    f"{_signed(m.change, m.currency)}{ratio} {m.what}")
        out += _wrapped(f"{_INDENT}{m.explain()}")
    return out


def _row(key: str, key_width: int, figures: str, status: str) -> list[str]:
    """A table row: `key` (an id) padded to `key_width`, the `figures`, then the `status`. A
    key longer than its column gets a line of its own, the figures under it in their columns;
    a status that doesn't fit beside the figures goes on the next line, whole."""
    lines = ([f"{key:<{key_width}} {figures}"] if len(key) <= key_width else
             [key, f"{'':<{key_width}} {figures}"])
    if len(lines[-1]) + len(status) <= WIDTH:
        lines[-1] += status
    else:
        lines[-1] = lines[-1].rstrip()
        lines += _wrapped(_INDENT + status)
    return lines


def _key_width(keys: Iterable[str], heading: str, figures: int) -> int:
    """The key column: as wide as the longest key, unless that leaves no room for `figures`."""
    longest = max([len(heading), *(len(k) for k in keys)])
    return max(len(heading), min(longest, WIDTH - figures - 1))


def _wrapped(text: str, indent: str = _INDENT) -> list[str]:
    """`text` in lines of at most `WIDTH` columns, broken at spaces only (an id is never cut),
    the lines after the first indented."""
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False) or [""]


def _as_of_text(result: Review) -> str:
    if result.as_of is None:
        return ": nothing allocated yet"
    state = "the month is complete" if result.complete else "month to date"
    return f" — as of {result.as_of} ({result.elapsed_days} of {result.days_in_month} days; {state})"


_TOTAL_LABEL = "total (lines do not overlap)"  # under the id and basis columns


def _line_table(result: Review, currency: str, block: Sequence[LineReview]) -> list[str]:
    step = quantum(currency)
    budgets = displayed_or_none([r.budget for r in block], step)
    actuals = displayed([r.actual for r in block], step)
    linear = displayed_or_none([r.projection.linear if r.projection else None for r in block], step)
    curve = displayed_or_none([r.projection.curve if r.projection else None for r in block], step)
    variances = ["" if b is None else _signed(a - b, currency, rounded=True)
                 for a, b in zip(actuals, budgets, strict=True)]
    amount = max([len("usage curve"), *(len(_money(v)) for v in (*budgets, *actuals, *curve))])
    variance_width = max([len("variance"), *(len(v) for v in variances)])
    figures = [f"{r.line.basis[:-4]:<9} {_money(budget):>{amount}} {actual:>{amount},} "
               f"{variance:>{variance_width}} {_percent(r.used):>7} {_money(cur):>{amount}}  "
               for r, budget, actual, variance, cur in zip(block, budgets, actuals, variances,
                                                           curve, strict=True)]
    heading = (f"{'basis':<9} {'budget':>{amount}} {'actual':>{amount}} "
               f"{'variance':>{variance_width}} {'used':>7} {'usage curve':>{amount}}  ")
    id_width = _key_width((r.line.id for r in block), f"{'line':<{len(_TOTAL_LABEL) - 10}}",
                          len(heading))
    header = _row("line", id_width, heading, "status")[0]
    rows = [_row(r.line.id, id_width, row, f"{'!! ' if r.crossed else ''}{r.status(result.period)}")
            for r, row in zip(block, figures, strict=True)]
    rule = "-" * min(WIDTH, max(len(line) for line in [header, *(row[-1] for row in rows)]))
    out = [header, rule]
    if not block:
        out.append(f"(no budget line in {currency})")
    for r, row, lin in zip(block, rows, linear, strict=True):
        out += row
        details = [f"owner {r.line.owner}",
                   f"thresholds {', '.join(percent_text(t) for t in r.line.thresholds) or '-'}"
                   + (f" (crossed: {', '.join(percent_text(t) for t in r.crossed)})"
                      if r.crossed else "")]
        if not result.complete and lin is not None:
            details.append(f"linear projection {lin:,}")
        out += _wrapped(_INDENT + "; ".join(details))
        for other, amount_other in r.other_currencies:
            out += _wrapped(f"{_INDENT}also {_plain(amount_other, other)} {other} in this scope, "
                            "not counted (another currency)")
    overlaps = result.overlapping(currency)
    if block and not overlaps and all(b is not None for b in budgets):
        total_budget = sum((b for b in budgets if b is not None), Decimal(0))
        total_actual = sum(actuals, Decimal(0))
        variance = _signed(total_actual - total_budget, currency, rounded=True)
        out += [rule, *_row(_TOTAL_LABEL, id_width + 10, f"{total_budget:>{amount},} "
                            f"{total_actual:>{amount},} {variance:>{variance_width}}", "")]
    elif overlaps:
        a, b = overlaps[0]
        out += _wrapped(f"no total: lines overlap (`{a}` and `{b}`"
                        + (f", {len(overlaps) - 1} more pair(s)" if len(overlaps) > 1 else "")
                        + ")")
    total = result.basis_total(currency)
    outside = result.uncovered.get(currency, Decimal(0))
    if total:
        out.append(f"outside every line: {_plain(outside, currency)} {currency} "
                   f"({_percent(_ratio(outside, total))} of {_plain(total, currency)} "
                   f"{result.basis})")
    return out


def _pilot_table(result: Review) -> list[str]:
    shown = [(p, *displayed_pair(p.pilot.cap, p.to_date, p.pilot.currency))
             for p in result.pilots]
    amount = max([len("spend to date"), *(len(f"{v:,}") for _, c, s in shown for v in (c, s))])
    heading = f"{'window':<23} {'cap':>{amount}} {'spend to date':>{amount}} {'used':>7}  "
    id_width = _key_width((p.pilot.id for p in result.pilots), "pilot", len(heading))
    header = _row("pilot", id_width, heading, "status")[0]
    rows = [_row(p.pilot.id, id_width, f"{p.pilot.start} → {p.pilot.end} {cap:>{amount},} "
                 f"{spent:>{amount},} {_percent(p.used):>7}  ",
                 f"{'!! ' if p.flagged else ''}{p.status()}")
            for p, cap, spent in shown]
    out = [header, "-" * min(WIDTH, max(len(line) for line in [header, *(row[-1] for row in rows)]))]
    for (p, _, _), row in zip(shown, rows, strict=True):
        out += row
        out += _wrapped(f"{_INDENT}owner {p.pilot.owner}; amounts in {p.pilot.currency}")
    return out


def displayed_pair(a: Decimal, b: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """Two amounts each rounded on its own to the currency's minor unit (not a column)."""
    step = quantum(currency)
    return displayed([a], step)[0], displayed([b], step)[0]


def displayed_or_none(values: Sequence[Decimal | None], step: Decimal) -> list[Decimal | None]:
    """Largest remainder over the values present; None stays None."""
    present = [v for v in values if v is not None]
    rounded = iter(displayed(present, step))
    return [None if v is None else next(rounded) for v in values]


def displayed(amounts: Sequence[Decimal], step: Decimal) -> list[Decimal]:
    """`amounts` rounded with largest remainder, each written with the step's decimals."""
    return [a.quantize(step) for a in largest_remainder(amounts, step)]


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,}"


def _plain(amount: Decimal, currency: str) -> str:
    return f"{displayed([amount], quantum(currency))[0]:,}"


def _signed(amount: Decimal, currency: str, *, rounded: bool = False) -> str:
    value = amount if rounded else displayed([amount], quantum(currency))[0]
    return f"+{value:,}" if value > 0 else f"{value:,}".replace("-", "−")


def _percent(ratio: Decimal | None, *, signed: bool = False) -> str:
    if ratio is None:
        return "-"
    text = f"{ratio * 100:.1f}%"
    return f"+{text}" if signed and ratio > 0 else text.replace("-", "−")

