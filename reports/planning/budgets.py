"""`budgets.yaml`: what each slice of allocated cost may spend, who owns it, when to escalate.

```yaml
currency: USD                    # default for every line and pilot
basis: EffectiveCost             # BilledCost | EffectiveCost (default: fully allocated, amortized)
thresholds: [80, 100]            # percent of the budget (of the cap, for pilots); the default
profiles:                        # weights for spreading a quarter (3) or a year (12) over months
  q4-peak: [1, 1, 2]
lines:
  - id: platform-prod
    owner: platform-lead@acme.example
    dimensions: {workstream: platform_build, environment: production}   # any allocation dimension
    amounts:
      - {from: 2026-01, to: 2026-09, monthly: 40000}
      - {quarter: 2026-Q4, amount: 150000, spread: q4-peak}
      - {year: 2027, amount: 600000}                  # spread evenly
      - {month: 2028-01, amount: 52000}
    thresholds: [50, 80, 100]
pilots:                          # time-boxed experiments: spend after `end` or over `cap` is flagged
  - id: rag-support-pilot
    owner: ml-lead@acme.example
    dimensions: {workstream: experimentation, cost_center: CC-3200}
    start: 2026-09-01
    end: 2026-10-15
    cap: 2500
```

A line's dimensions name allocation dimensions (`environment`, `workstream`, `cost_type` and any
declared in the rules, such as `cost_center`) with one value or a list; a line without
dimensions covers all spend in its currency. Amounts are exact decimals in the line's currency,
in its minor unit (cents). A quarter or a year is spread over its months evenly or by a profile,
to the cent, with the largest-remainder method, so the months add up to the amount exactly.

`load_budgets` validates everything before any data is read and lists every problem with
file:line, the line or pilot id and the field; given the rules' dimensions it also checks that
every dimension and value is declared there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from costalloc.allocation.model import STANDARD_DIMENSIONS, UNALLOCATED
from costalloc.core.currencies import is_currency
from costalloc.core.period import BillingPeriod
from costalloc.reports.finance.rounding import largest_remainder, quantum
from costalloc.reports.planning.specfile import (
    Loc,
    Problem,
    SpecDocument,
    problems_of,
    raise_problems,
    read_spec,
)

Basis = Literal["BilledCost", "EffectiveCost"]
DEFAULT_BASIS: Basis = "EffectiveCost"
DEFAULT_THRESHOLDS = (Decimal(80), Decimal(100))
BUDGETS_FILE = "budgets.yaml"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,80}$")
_DIMENSION = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def _period(text: str) -> str:
    BillingPeriod.parse(text)  # ValueError says what the form is
    return text


def _quarter(text: str) -> str:
    if not _QUARTER.match(text):
        raise ValueError(f"quarter `{text}` is not of the form YYYY-Qn (e.g. 2026-Q4)")
    return text


def _identifier(text: str) -> str:
    if not _ID.match(text):
        raise ValueError("use letters, digits, `_`, `.`, `:` and `-` (at most 81), starting "
                         "with a letter or digit")
    return text


PeriodText = Annotated[str, AfterValidator(_period)]
QuarterText = Annotated[str, AfterValidator(_quarter)]
Id = Annotated[str, AfterValidator(_identifier)]
Percent = Annotated[Decimal, Field(gt=0, le=1000)]
Amount = Annotated[Decimal, Field(ge=0)]
DimensionValues = dict[str, str | list[str]]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AmountSpec(_Spec):
    """One entry of a line's `amounts`: a month, a quarter, a year, or a monthly amount for a
    range of months."""

    month: PeriodText | None = None
    quarter: QuarterText | None = None
    year: int | None = Field(default=None, ge=2000, le=2999)
    from_: PeriodText | None = Field(default=None, alias="from")
    to: PeriodText | None = None
    amount: Amount | None = None
    monthly: Amount | None = None
    spread: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        shapes = {
            "month": (self.month is not None, self.amount is not None),
            "quarter": (self.quarter is not None, self.amount is not None),
            "year": (self.year is not None, self.amount is not None),
            "from": (self.from_ is not None, self.monthly is not None),
        }
        named = [name for name, (given, _) in shapes.items() if given]
        expected = ("give one of `month` + `amount`, `quarter` + `amount` (+ `spread`), "
                    "`year` + `amount` (+ `spread`), `from` (+ `to`) + `monthly`")
        if len(named) != 1:
            found = ", ".join(f"`{n}`" for n in named) or "none of them"
            raise ValueError(f"{expected}; found {found}")
        kind = named[0]
        if not shapes[kind][1]:
            raise ValueError(f"`{kind}` needs `{'monthly' if kind == 'from' else 'amount'}`")
        if kind == "from" and self.amount is not None:
            raise ValueError("a range of months takes `monthly` (the amount of each month), "
                             "not `amount`")
        if kind != "from" and (self.monthly is not None or self.to is not None):
            raise ValueError(f"`{kind}` takes `amount`; `monthly` and `to` go with `from`")
        if self.spread is not None and kind not in ("quarter", "year"):
            raise ValueError("`spread` applies to a quarter or a year only")
        if kind == "from" and self.to is not None and self.from_ is not None and (
                BillingPeriod.parse(self.to) < BillingPeriod.parse(self.from_)):
            raise ValueError(f"`to` ({self.to}) is before `from` ({self.from_})")
        return self

    @property
    def total(self) -> Decimal:
        return self.amount if self.amount is not None else (self.monthly or Decimal(0))

    def months(self) -> list[BillingPeriod]:
        """The months this entry covers (a range without `to`: its first month only here; the
        schedule keeps it open-ended)."""
        if self.month is not None:
            return [BillingPeriod.parse(self.month)]
        if self.quarter is not None:
            match = _QUARTER.match(self.quarter)
            assert match is not None
            year, q = int(match.group(1)), int(match.group(2))
            return [BillingPeriod(year, 3 * (q - 1) + m) for m in (1, 2, 3)]
        if self.year is not None:
            return [BillingPeriod(self.year, m) for m in range(1, 13)]
        first = BillingPeriod.parse(self.from_ or "")
        return first.through(BillingPeriod.parse(self.to)) if self.to else [first]


class LineSpec(_Spec):
    id: Id
    owner: str = Field(min_length=1)
    description: str | None = None
    dimensions: DimensionValues = Field(default_factory=dict)
    amounts: list[AmountSpec] = Field(min_length=1)
    currency: str | None = None
    basis: Basis | None = None
    thresholds: list[Percent] | None = None


class PilotSpec(_Spec):
    id: Id
    owner: str = Field(min_length=1)
    description: str | None = None
    dimensions: DimensionValues = Field(default_factory=dict)
    start: date
    end: date
    cap: Decimal = Field(gt=0)
    currency: str | None = None
    basis: Basis | None = None
    thresholds: list[Percent] | None = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"`end` ({self.end}) is before `start` ({self.start})")
        return self


class FileSpec(_Spec):
    currency: str | None = None
    basis: Basis = DEFAULT_BASIS
    thresholds: list[Percent] = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    profiles: dict[str, list[Annotated[Decimal, Field(ge=0)]]] = Field(default_factory=dict)
    lines: list[Any] = Field(default_factory=list)
    pilots: list[Any] = Field(default_factory=list)


# --- what the rest of costalloc reads ---------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Which allocated cost a budget line or pilot covers: for each named dimension, the values
    it accepts. No dimensions: all cost in the currency."""

    dimensions: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def of(cls, values: Mapping[str, str | Sequence[str]]) -> Scope:
        return cls(tuple(sorted(
            (name, frozenset([value] if isinstance(value, str) else value))
            for name, value in values.items())))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.dimensions]

    def matches(self, values: Mapping[str, str | None]) -> bool:
        return all(values.get(name) in accepted for name, accepted in self.dimensions)

    def overlaps(self, other: Scope) -> bool:
        """Whether some allocated row could fall in both scopes."""
        mine, theirs = dict(self.dimensions), dict(other.dimensions)
        return all(mine[name] & theirs[name] for name in mine.keys() & theirs.keys())

    def describe(self) -> str:
        if not self.dimensions:
            return "all spend"
        return ", ".join(f"{name}={'|'.join(sorted(values))}" for name, values in self.dimensions)


@dataclass(frozen=True)
class BudgetLine:
    id: str
    owner: str
    description: str | None
    scope: Scope
    currency: str
    basis: Basis
    thresholds: tuple[Decimal, ...]  # percent, ascending
    schedule: Mapping[BillingPeriod, Decimal] = field(default_factory=dict)
    open_from: tuple[BillingPeriod, Decimal] | None = None  # `from` without `to`: every month on

    def amount(self, period: BillingPeriod) -> Decimal | None:
        """The budget for `period`, or None when the line budgets nothing for it."""
        if period in self.schedule:
            return self.schedule[period]
        if self.open_from is not None and period >= self.open_from[0]:
            return self.open_from[1]
        return None


@dataclass(frozen=True)
class Pilot:
    """A time-boxed experiment: its spend from `start` counts against `cap`; spend on days after
    `end` is flagged."""

    id: str
    owner: str
    description: str | None
    scope: Scope
    currency: str
    basis: Basis
    start: date
    end: date
    cap: Decimal
    thresholds: tuple[Decimal, ...]


@dataclass(frozen=True)
class Budgets:
    path: Path | None
    version: str
    basis: Basis
    lines: tuple[BudgetLine, ...]
    pilots: tuple[Pilot, ...]

    @property
    def dimension_names(self) -> list[str]:
        """Every dimension a line or pilot names, sorted."""
        names = {n for line in self.lines for n in line.scope.names}
        names |= {n for pilot in self.pilots for n in pilot.scope.names}
        return sorted(names)


def budgets_path_beside(rules: Path | None, config_dir: Path) -> Path:
    """Where `budgets.yaml` lives by default: beside the rules file (beside a rules folder, not
    in it: every YAML file in that folder is read as rules), else beside the configuration."""
    return (config_dir if rules is None else rules.parent) / BUDGETS_FILE


def load_budgets(path: Path, dimensions: Mapping[str, Sequence[str]] | None = None) -> Budgets:
    """Read and validate `path`. `dimensions` (the rules' declared dimensions and values) makes
    every dimension name and value a line or pilot uses checked against them."""
    document = read_spec(path, "budgets")
    budgets = _resolve(document.data, dimensions, lambda problems: raise_problems(
        document, problems, "budgets"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return Budgets(path, digest, budgets.basis, budgets.lines, budgets.pilots)


def budgets_from_mapping(data: Mapping[str, Any],
                         dimensions: Mapping[str, Sequence[str]] | None = None) -> Budgets:
    """The same validation over data already in memory (tests, other front ends); problems are
    reported against `<budgets>`."""
    document = SpecDocument(Path("<budgets>"), dict(data), None)
    return _resolve(document.data, dimensions,
                    lambda problems: raise_problems(document, problems, "budgets"))


# --- validation -------------------------------------------------------------------------------

class _Checker:
    def __init__(self, dimensions: Mapping[str, Sequence[str]] | None) -> None:
        self.dimensions = dimensions
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def currency(self, loc: Loc, own: str | None, default: str | None) -> str | None:
        code = own or default
        if code is None:
            self.add(loc, "no currency: set `currency` here or at the top of the file")
            return None
        if not is_currency(code):
            where = (*loc, "currency") if own else ("currency",)
            if own or not any(p.loc == ("currency",) for p in self.problems):
                self.add(where, f"`{code}` is not an ISO 4217 currency code (e.g. USD, EUR)")
            return None
        return code

    def scope(self, loc: Loc, values: DimensionValues) -> Scope:
        for name, raw in values.items():
            where = (*loc, "dimensions", name)
            given = [raw] if isinstance(raw, str) else raw
            if not given:
                self.add(where, "an empty list selects nothing; name at least one value")
            if not _DIMENSION.match(name):
                self.add(where, f"`{name}` is not a dimension name (lower_snake_case)")
                continue
            if self.dimensions is None:
                declared: Sequence[str] | None = (STANDARD_DIMENSIONS["cost_type"]
                                                  if name == "cost_type" else None)
            elif name not in self.dimensions:
                self.add(where, f"unknown dimension `{name}` (declared in the rules: "
                                f"{', '.join(self.dimensions)})")
                continue
            else:
                declared = self.dimensions[name]
            for value in given:
                if value == UNALLOCATED:
                    self.add(where, f"`{UNALLOCATED}` is what no rule claimed, not a value to "
                                    "budget; budget the declared values")
                elif declared is not None and value not in declared:
                    self.add(where, f"`{value}` is not a declared value of `{name}` (expected "
                                    f"one of {', '.join(declared)})")
        return Scope.of(values)

    def thresholds(self, loc: Loc, own: list[Decimal] | None,
                   default: Sequence[Decimal]) -> tuple[Decimal, ...]:
        values = list(own) if own is not None else list(default)
        if own is not None and not own:
            self.add((*loc, "thresholds"), "an empty list: omit `thresholds` for the default")
        doubled = sorted({v for v in values if values.count(v) > 1})
        if doubled:
            self.add((*loc, "thresholds"), f"repeated: {', '.join(str(v) for v in doubled)}")
        return tuple(sorted(set(values)))

    def money(self, loc: Loc, amount: Decimal, currency: str) -> None:
        step = quantum(currency)
        if amount % step != 0:
            self.add(loc, f"{amount} has more decimals than {currency} has (its smallest amount "
                          f"is {step})")


def _resolve(data: dict[str, Any], dimensions: Mapping[str, Sequence[str]] | None,
             report: Callable[[list[Problem]], None]) -> Budgets:
    check = _Checker(dimensions)
    top_data = {k: v for k, v in data.items() if k not in ("lines", "pilots")}
    try:
        top = FileSpec.model_validate(
            {**top_data, "lines": _as_list(data, "lines", check),
             "pilots": _as_list(data, "pilots", check)})
    except ValidationError as error:
        check.problems += problems_of(error)
        top = FileSpec()
    if top.currency is not None and not is_currency(top.currency):
        check.add(("currency",), f"`{top.currency}` is not an ISO 4217 currency code (e.g. USD)")
    for name, weights in top.profiles.items():
        if not weights or sum(weights, Decimal(0)) == 0:
            check.add(("profiles", name), "weights must not all be zero")
        elif len(weights) not in (3, 12):
            check.add(("profiles", name), f"{len(weights)} weights: a profile spreads a quarter "
                                          "(3 weights) or a year (12)")
    default_thresholds = check.thresholds((), top.thresholds, DEFAULT_THRESHOLDS)
    ids: dict[str, Loc] = {}  # ids are unique across lines and pilots
    lines = _entries(top.lines, "lines", LineSpec, ids, check,
                     lambda spec, loc: _line(spec, loc, top, default_thresholds, check))
    pilots = _entries(top.pilots, "pilots", PilotSpec, ids, check,
                      lambda spec, loc: _pilot(spec, loc, top, default_thresholds, check))
    report(check.problems)
    return Budgets(None, "", top.basis, tuple(lines), tuple(pilots))


def _as_list(data: dict[str, Any], key: str, check: _Checker) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        check.add((key,), f"`{key}` is a list of entries (found a {type(value).__name__})")
        return []
    return value


_Built = TypeVar("_Built")


def _entries(raws: list[Any], section: str, model: type[_Spec], ids: dict[str, Loc],
             check: _Checker, build: Callable[[Any, Loc], _Built | None]) -> list[_Built]:
    """Validate and build each entry of a section; every problem is collected, none stops."""
    built = []
    for index, raw in enumerate(raws):
        loc: Loc = (section, index)
        spec = _validate(model, raw, loc, check)
        if spec is None:
            continue
        _unique(spec.id, loc, ids, check)
        entry = build(spec, loc)
        if entry is not None:
            built.append(entry)
    return built


def _validate(model: type[_Spec], raw: Any, loc: Loc, check: _Checker) -> Any:
    if not isinstance(raw, dict):
        check.add(loc, f"an entry is a mapping (id:, owner:, …), found {raw!r}"[:120])
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        check.problems += problems_of(error, loc)
    dimensions = raw.get("dimensions")
    if isinstance(dimensions, dict) and all(  # still check what can be checked
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in dimensions.values()):
        check.scope(loc, dimensions)
    return None


def _unique(entry_id: str, loc: Loc, ids: dict[str, Loc], check: _Checker) -> None:
    if entry_id in ids:
        first = ids[entry_id]
        check.add((*loc, "id"), f"id `{entry_id}` is already used by {first[0]}[{first[1]}]")
    else:
        ids[entry_id] = loc


def _line(spec: LineSpec, loc: Loc, top: FileSpec, thresholds: tuple[Decimal, ...],
          check: _Checker) -> BudgetLine | None:
    scope = check.scope(loc, spec.dimensions)
    own_thresholds = check.thresholds(loc, spec.thresholds, thresholds)
    currency = check.currency(loc, spec.currency, top.currency)
    if currency is None:
        return None
    schedule: dict[BillingPeriod, Decimal] = {}
    claimed: dict[BillingPeriod, int] = {}
    open_from: tuple[BillingPeriod, Decimal] | None = None
    open_index = -1
    for j, entry in enumerate(spec.amounts):
        where: Loc = (*loc, "amounts", j)
        check.money((*where, "amount" if entry.amount is not None else "monthly"), entry.total,
                    currency)
        months = entry.months()
        if entry.from_ is not None and entry.to is None:
            if open_from is not None:
                check.add(where, f"amounts[{open_index}] already runs open-ended; give `to`")
            open_from, open_index = (months[0], entry.total), j
        amounts = _spread(entry, months, top.profiles, currency, where, check)
        clash = [m for m in months if m in claimed]
        if clash:
            check.add(where, f"{clash[0]} is already budgeted by amounts[{claimed[clash[0]]}]"
                             + (f" (and {len(clash) - 1} more month(s))" if len(clash) > 1 else ""))
            continue
        for month, amount in zip(months, amounts, strict=True):
            claimed[month] = j
            if not (entry.from_ is not None and entry.to is None):
                schedule[month] = amount
    if open_from is not None:
        later = sorted(m for m in schedule if m >= open_from[0])
        if later:
            check.add((*loc, "amounts", open_index),
                      f"runs open-ended from {open_from[0]} but {later[0]} has its own amount; "
                      "give this range a `to`")
    return BudgetLine(spec.id, spec.owner, spec.description, scope, currency,
                      spec.basis or top.basis, own_thresholds, schedule, open_from)


def _spread(entry: AmountSpec, months: list[BillingPeriod], profiles: Mapping[str, list[Decimal]],
            currency: str, where: Loc, check: _Checker) -> list[Decimal]:
    """The entry's amount per month: a month or a range as given; a quarter or a year spread
    evenly or by the named profile, to the currency's minor unit, adding up exactly."""
    if entry.quarter is None and entry.year is None:
        return [entry.total] * len(months)
    weights = [Decimal(1)] * len(months)
    name = entry.spread or "even"
    if name != "even":
        profile = profiles.get(name)
        if profile is None:
            check.add((*where, "spread"), f"unknown profile `{name}` (known: even"
                      + "".join(f", {p}" for p in profiles) + ")")
        elif len(profile) != len(months):
            check.add((*where, "spread"), f"profile `{name}` has {len(profile)} weights; a "
                      f"{'quarter' if len(months) == 3 else 'year'} needs {len(months)}")
        elif sum(profile, Decimal(0)) > 0:
            weights = list(profile)
    return spread(entry.total, weights, currency)


def spread(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """`amount` split in proportion to `weights`, each part a whole number of the currency's
    minor unit, the parts adding up to `amount` exactly (largest remainder)."""
    step = quantum(currency)
    with localcontext() as context:
        context.prec = 60
        total = sum(weights, Decimal(0))
        shares = [amount * w / total for w in weights]
    exact_total = amount if amount % step == 0 else None
    return largest_remainder(shares, step, total=exact_total)


def _pilot(spec: PilotSpec, loc: Loc, top: FileSpec, thresholds: tuple[Decimal, ...],
           check: _Checker) -> Pilot | None:
    scope = check.scope(loc, spec.dimensions)
    own_thresholds = check.thresholds(loc, spec.thresholds, thresholds)
    currency = check.currency(loc, spec.currency, top.currency)
    if currency is None:
        return None
    check.money((*loc, "cap"), spec.cap, currency)
    return Pilot(spec.id, spec.owner, spec.description, scope, currency, spec.basis or top.basis,
                 spec.start, spec.end, spec.cap, own_thresholds)
