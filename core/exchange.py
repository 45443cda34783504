"""Exchange rates the user supplies: how amounts billed in several currencies become one figure.

costalloc never adds, compares or divides amounts in two currencies. Where a figure has to put
them together (a consolidated total, coverage across currencies, a cost per unit), the amounts
are converted into one *reporting currency* with a rates file finance keeps, CSV or Parquet:

    period,from_currency,to_currency,rate
    2026-10,EUR,USD,1.0712

- `period` (YYYY-MM): the rate for that billing period, e.g. the month's average rate (the
  usual rate for costs in the profit and loss). Or, instead, `date` (YYYY-MM-DD): the rate
  quoted on that day; a billing period takes the latest date inside it (the month-end rate,
  given daily or month-end quotes). One of the two columns, not both.
- `rate`: 1 `from_currency` = `rate` `to_currency`, an exact decimal (`1.0712`, never
  rounded by costalloc). Rows into other currencies than the reporting one are ignored.

A row's amount converts at the rate of its billing period: amount × rate, in exact decimals;
only the figures shown are rounded (largest remainder, like every other table). A rate that is
needed and missing is an error naming the period and the pair, never an assumed 1: the
inverse (USD→EUR for EUR→USD) is not used, as the inverse of a quoted rate is not a quote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path

import polars as pl

from costalloc.core.currencies import is_currency
from costalloc.core.errors import ConfigurationError
from costalloc.core.period import BillingPeriod
from costalloc.core.yaml_input import problem_report

RATE_COLUMNS = ("from_currency", "to_currency", "rate")
_PRECISION = 80  # amount (38 digits) × rate: every digit of the product is kept
_EXAMPLE = "period,from_currency,to_currency,rate (or date instead of period)"


class MissingRate(ConfigurationError):
    """A conversion needs a (period, currency) rate the rates file does not give."""


@dataclass(frozen=True)
class Rate:
    """One rate as the file gives it, and where (for the note under a converted table)."""

    period: str
    from_currency: str
    to_currency: str
    rate: Decimal
    where: str  # `rates.csv:3`
    quoted_on: date | None = None  # the day, when the file has a `date` column

    def describe(self) -> str:
        day = f"quoted {self.quoted_on}, " if self.quoted_on else ""
        return (f"{self.period} 1 {self.from_currency} = {self.rate.normalize():f} "
                f"{self.to_currency} ({day}{self.where})")


@dataclass(frozen=True)
class ExchangeRates:
    """The rates into `currency`, per billing period and currency converted from."""

    path: Path
    currency: str
    rates: Mapping[tuple[str, str], Rate]  # (period, from_currency) → rate into `currency`
    others: Mapping[tuple[str, str, str], Rate]  # (period, from, to) for other targets

    def rate(self, period: BillingPeriod | str, currency: str) -> Decimal:
        """1 `currency` in the reporting currency, for `period`."""
        return self.quote(period, currency).rate

    def quote(self, period: BillingPeriod | str, currency: str) -> Rate:
        if currency == self.currency:
            return Rate(str(period), currency, currency, Decimal(1), "same currency")
        found = self.rates.get((str(period), currency))
        if found is None:
            raise MissingRate(self._missing(str(period), currency))
        return found

    def require(self, needed: Iterable[tuple[BillingPeriod | str, str]]) -> None:
        """Every (period, currency) in `needed` has a rate, else one error naming all missing."""
        missing = sorted({(str(p), c) for p, c in needed
                          if c != self.currency and (str(p), c) not in self.rates})
        if len(missing) == 1:
            raise MissingRate(self._missing(*missing[0]))
        if missing:
            by_currency: dict[str, list[str]] = {}
            for period, currency in missing:
                by_currency.setdefault(currency, []).append(period)
            listed = "; ".join(f"{c}→{self.currency} for {', '.join(periods)}"
                               for c, periods in sorted(by_currency.items()))
            raise MissingRate(f"{len(missing)} exchange rates are needed and missing from "
                              f"`{self.path}`: {listed}; add a row `period,from_currency,"
                              f"{self.currency},rate` for each. Nothing was converted at an "
                              "assumed rate")

    def convert(self, amount: Decimal, currency: str, period: BillingPeriod | str) -> Decimal:
        """`amount` in `currency`, billed in `period`, in the reporting currency: exact."""
        rate = self.rate(period, currency)
        with localcontext() as context:
            context.prec = _PRECISION
            return amount * rate

    def describe(self) -> str:
        return f"{self.currency} at the rates in `{self.path}`"

    def _missing(self, period: str, currency: str) -> str:
        pair = f"{currency}→{self.currency}"
        known = sorted(p for (p, c) in self.rates if c == currency)
        has = (f"it has {pair} for {', '.join(known[-6:])}" if known
               else f"it has no {pair} rate for any period")
        inverse = self.others.get((period, self.currency, currency))
        if inverse is not None:
            has += (f"; it quotes {self.currency}→{currency} for {period} "
                    f"({inverse.where}), which is not inverted")
        return (f"no exchange rate {pair} for {period} in `{self.path}` ({has}); add a row "
                f"`{period},{currency},{self.currency},<rate>` (1 {currency} in "
                f"{self.currency}). Nothing was converted at an assumed rate")


def read_rates(path: Path, currency: str) -> ExchangeRates:
    """The rates into `currency` from `path` (CSV, or Parquet by its suffix), every row checked:
    a bad row is an error naming the file, the line and the column."""
    if not is_currency(currency):
        raise ConfigurationError(f"reporting currency `{currency}` is not an ISO 4217 code "
                                 "(e.g. USD, EUR)")
    if not path.is_file():
        raise ConfigurationError(f"exchange rates file `{path}` not found (CSV or Parquet with "
                                 f"columns {_EXAMPLE})")
    frame, first_line = _read(path)
    when = _when_column(path, frame)
    problems: list[str] = []
    quoted: dict[tuple[str, str, str], tuple[str, Rate]] = {}  # by (when, from, to)
    for index, row in enumerate(frame.iter_rows(named=True)):
        where = f"{path.name}:{index + first_line}"
        rate = _rate(row, when, where, problems)
        if rate is None:
            continue
        key = (str(rate.quoted_on or rate.period), rate.from_currency, rate.to_currency)
        if key in quoted:
            problems.append(f"{where}: {rate.from_currency}→{rate.to_currency} for {key[0]} is "
                            f"given again (first at {quoted[key][1].where}); keep one rate")
            continue
        quoted[key] = (key[0], rate)
    if problems:
        raise ConfigurationError(problem_report(
            f"exchange rates file `{path}`: {len(problems)} problem(s):",
            [f"  {problem}" for problem in problems]))
    # With dates, a period takes the latest quote inside it (rows are keyed by day above).
    latest: dict[tuple[str, str, str], Rate] = {}
    for rate in (r for _, r in quoted.values()):
        key = (rate.period, rate.from_currency, rate.to_currency)
        held = latest.get(key)
        if held is None or (rate.quoted_on or date.min) > (held.quoted_on or date.min):
            latest[key] = rate
    into = {(p, f): r for (p, f, t), r in latest.items() if t == currency}
    others = {k: r for k, r in latest.items() if k[2] != currency}
    return ExchangeRates(path, currency, into, others)


def _read(path: Path) -> tuple[pl.DataFrame, int]:
    """The file as text columns, and the line (CSV) or row number (Parquet) of its first row."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
            return frame.select(pl.all().cast(pl.String)), 1
        return pl.read_csv(path, infer_schema=False), 2  # line 1 is the header
    except (pl.exceptions.PolarsError, OSError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigurationError(f"exchange rates file `{path}` cannot be read ({detail}); "
                                 f"expected columns {_EXAMPLE}") from None


def _when_column(path: Path, frame: pl.DataFrame) -> str:
    columns = [c.strip() for c in frame.columns]
    missing = [c for c in RATE_COLUMNS if c not in columns]
    dated = [c for c in ("period", "date") if c in columns]
    if missing or len(dated) != 1:
        found = ", ".join(columns) or "none"
        lacking = [*missing, *(["period or date"] if not dated else [])]
        problem = (f"lacks column(s) {', '.join(lacking)}" if lacking
                   else "has both `period` and `date`; give one")
        raise ConfigurationError(f"exchange rates file `{path}` {problem} (found: {found}; "
                                 f"expected {_EXAMPLE})")
    return dated[0]


def _rate(row: Mapping[str, str | None], when: str, where: str,
          problems: list[str]) -> Rate | None:
    """One row as a `Rate`, or None with its problems added."""
    found = len(problems)
    text = (row.get(when) or "").strip()
    period = quoted_on = None
    try:
        if when == "period":
            period = str(BillingPeriod.parse(text))
        else:
            if len(text) > 10 and text[10] not in " T":  # a timestamp's day is its date
                raise ValueError(text)
            quoted_on = date.fromisoformat(text[:10])
            period = str(BillingPeriod.containing(quoted_on))
    except ValueError:
        shape = "YYYY-MM" if when == "period" else "YYYY-MM-DD"
        problems.append(f"{where}: `{when}` is `{text}`, not a {shape}")
    codes = []
    for column in ("from_currency", "to_currency"):
        code = (row.get(column) or "").strip().upper()
        if not is_currency(code):
            problems.append(f"{where}: `{column}` is `{row.get(column) or ''}`, not an ISO 4217 "
                            "currency code")
        codes.append(code)
    if codes[0] == codes[1] and is_currency(codes[0]):
        problems.append(f"{where}: converts {codes[0]} into itself (its rate is 1 by definition; "
                        "leave the row out)")
    rate_text = (row.get("rate") or "").strip()
    try:
        rate = Decimal(rate_text)
        if not rate.is_finite() or rate <= 0:
            raise InvalidOperation
    except InvalidOperation:
        problems.append(f"{where}: `rate` is `{rate_text}`, not a number > 0 (1 {codes[0]} in "
                        f"{codes[1]})")
        rate = Decimal(0)
    if len(problems) > found or period is None:
        return None
    return Rate(period, codes[0], codes[1], rate, where, quoted_on)
