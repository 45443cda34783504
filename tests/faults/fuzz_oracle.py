"""What a delivery's raw files say, worked out without costalloc's code: the per-currency total
of the provider's own cost column and the data rows of each file, or that no honest load of
them exists (`MustRefuse`).

The rules are the providers' documented meanings, written down independently here:
- a number is ASCII decimal text (sign, digits, point, exponent) or a finite Parquet number;
  anything else that is not empty — `12,50`, `NaN`, `1e400`, `١٢`, `$5` — is not a number;
- money is DECIMAL(38, 10): each amount is rounded half-even to 10 places and must have at most
  28 integer digits; quantities and unit prices are DECIMAL(38, 18): at most 20 integer digits;
- a cost FOCUS derives (ListCost = ListUnitPrice × PricingQuantity, ContractedCost likewise)
  where the file leaves it empty is refused from 9e19 up (DECIMAL(38, 18) products end at 1e20);
- a cost cell may not be empty (a line item without a cost is not a line item);
- the currency is an ISO 4217 code (pycountry's list), case aside;
- a row's billing period start must be the period's first instant (a row of another period is
  refused, or — for FOCUS files in a shared folder — belongs to another month's load; a start
  that is no month's first instant belongs to no load and is refused);
- a time is ISO 8601 (date, or date and time with `T` or a space, optional fraction and
  offset) or `MM/dd/yyyy`, as exports write them;
- a part with no data row is a failed upload.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any, Literal

import pycountry

from tests.faults.fuzz_files import Unreadable, is_parquet, read_csv, read_parquet

CURRENCIES = frozenset(currency.alpha_3 for currency in pycountry.currencies)
MONEY_PLACES = Decimal("1e-10")
MONEY_LIMIT = Decimal("1e28")  # DECIMAL(38, 10): 28 integer digits
QUANTITY_LIMIT = Decimal("1e20")  # DECIMAL(38, 18): 20 integer digits
DERIVED_LIMIT = Decimal("9e19")  # a derived cost is refused from here (docs/reliability.md)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
                  r"(Z|[+-]\d{2}:?\d{2})?", re.ASCII)
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)


class MustRefuse(Exception):
    """No load of these files can be right: costalloc must refuse them."""


@dataclass(frozen=True)
class RowRules:
    """Where a layout keeps what the oracle reads (column names as the files spell them)."""

    cost: str
    currency: str
    period: str
    times: tuple[str, ...]  # required times (the charge period's start, ...)
    money: tuple[str, ...] = ()  # other amounts that must be numbers
    quantities: tuple[str, ...] = ()  # quantities and unit prices
    required: tuple[str, ...] = ()  # further columns the header must have
    null_text: tuple[str, ...] = ()  # cell text that means null (the FOCUS sample's `NULL`)
    other_periods: Literal["refuse", "skip"] = "refuse"
    period_fallback: str | None = None  # where the period is read from when `period` is empty
    period_month: bool = False  # any day of the period's month names it (Azure)
    header: Literal["exact", "stripped", "any-case"] = "exact"  # how header names compare
    # (cost, unit price, quantity): FOCUS's cost = unit price × quantity where the cost is empty
    derived: tuple[tuple[str, str, str], ...] = ()


@dataclass
class Expected:
    """What an honest load of the files publishes."""

    totals: dict[str, Decimal] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # data rows kept, per file as named

    def add(self, currency: str, amount: Decimal) -> None:
        self.totals[currency] = self.totals.get(currency, Decimal(0)) + amount


def expected(files: Iterable[tuple[str, Path]], rules: RowRules, period_start: datetime,
             ) -> Expected:
    """The totals and row counts of `files` (name as the load names it, local path)."""
    result = Expected()
    for name, path in files:
        kept = 0
        for row in _rows(path, rules):
            if _row(row, rules, period_start, result):
                kept += 1
        result.rows[name] = result.rows.get(name, 0) + kept
    return result


def _rows(path: Path, rules: RowRules) -> Iterator[dict[str, Any]]:
    """The file's rows, as the wanted columns' values."""
    try:
        if is_parquet(path):
            table = read_parquet(path)
            header, count = table.column_names, table.num_rows

            def column(index: int) -> list[Any]:
                return list(table.column(index).to_pylist())
        else:
            text = read_csv(path)
            header, count = text.header, len(text.rows)

            def column(index: int) -> list[Any]:
                return [row[index] for row in text.rows]
    except Unreadable as error:
        raise MustRefuse(str(error)) from None
    if not count:
        raise MustRefuse(f"{path.name} has no data rows")
    names = _names(header, rules)
    for needed in (rules.cost, rules.currency, *rules.times, *rules.required):
        if needed not in names:
            raise MustRefuse(f"{path.name} lacks `{needed}`")
    if rules.period not in names and rules.period_fallback is None:
        raise MustRefuse(f"{path.name} lacks `{rules.period}`")
    columns = {wanted: column(index) for wanted, index in names.items()}
    for row in range(count):
        yield {wanted: columns[wanted][row] if wanted in columns else None
               for wanted in _wanted(rules)}


def _wanted(rules: RowRules) -> tuple[str, ...]:
    return (rules.cost, rules.currency, rules.period, *rules.times, *rules.money,
            *rules.quantities, *rules.required,
            *((rules.period_fallback,) if rules.period_fallback else ()))


def _names(header: list[str], rules: RowRules) -> dict[str, int]:
    """Wanted column → its index in the header, compared exactly, around whitespace (legacy
    CUR headers are converted to Athena's snake_case, which drops it), or in any case (Azure).
    A wanted column spelled twice is ambiguous."""
    names: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name if rules.header == "exact" else name.strip().removeprefix("\ufeff")
        for wanted in set(_wanted(rules)):
            if key == wanted or (rules.header == "any-case" and key.lower() == wanted.lower()):
                if wanted in names:
                    raise MustRefuse(f"two columns spell `{wanted}`")
                names[wanted] = index
    return names


def _row(row: dict[str, Any], rules: RowRules, period_start: datetime, into: Expected) -> bool:
    """Check one row and add its cost; False when it belongs to another period's load."""
    row = {k: (None if isinstance(v, str) and v.strip() in rules.null_text else v)
           for k, v in row.items()}
    start = _period_start(row, rules)
    if start != period_start:
        if rules.other_periods == "skip" and start == _month_start(start):
            return False
        raise MustRefuse(f"a row of the billing period starting {start}")
    for name in rules.times:
        if moment(row[name]) is None:
            raise MustRefuse(f"`{name}` `{row[name]!r:.40}` is not a time")
    for name in rules.money:
        number(row[name], MONEY_LIMIT)
    for name in rules.quantities:
        number(row[name], QUANTITY_LIMIT)
    for cost_column, price, amount in rules.derived:
        factors = number(row[price], QUANTITY_LIMIT), number(row[amount], QUANTITY_LIMIT)
        if number(row[cost_column], MONEY_LIMIT) is None and None not in factors:
            with localcontext(prec=80):
                if (factors[0] * factors[1]).copy_abs() >= DERIVED_LIMIT:
                    raise MustRefuse(f"`{cost_column}` is empty and {price} × {amount} is "
                                     "beyond any cost a reader derives")
    for name in rules.required:
        if row[name] is None or not str(row[name]).strip():
            raise MustRefuse(f"`{name}` is empty")
    cost = number(row[rules.cost], MONEY_LIMIT)
    if cost is None:
        raise MustRefuse("a line item without a cost")
    currency = str(row[rules.currency] or "").strip().upper()
    if currency not in CURRENCIES:
        raise MustRefuse(f"currency `{currency!r:.40}` is not ISO 4217")
    into.add(currency, money(cost))
    return True


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _period_start(row: dict[str, Any], rules: RowRules) -> datetime:
    given = row[rules.period]
    start = moment(given)
    if start is None and rules.period_fallback and not str(given or "").strip():
        start = moment(row[rules.period_fallback])
    if start is None:
        raise MustRefuse(f"billing period start `{given!r:.40}` is not a time")
    return _month_start(start) if rules.period_month else start


def number(value: Any, limit: Decimal) -> Decimal | None:
    """`value` as an exact decimal; None when empty; `MustRefuse` when not a number or beyond
    `limit` in magnitude."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MustRefuse(f"{value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MustRefuse(f"{value!r} is not a number")
        exact = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        exact = Decimal(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if not _NUMBER.fullmatch(text):
            raise MustRefuse(f"`{text:.40}` is not a number")
        try:
            exact = Decimal(text)
        except InvalidOperation:
            raise MustRefuse(f"`{text:.40}` is not a number") from None
    if exact.copy_abs() >= limit:  # abs() would round to the context's 28 digits first
        raise MustRefuse(f"`{value!s:.40}` is beyond {limit} in magnitude")
    return exact


def money(exact: Decimal) -> Decimal:
    """An amount as DECIMAL(38, 10) holds it: rounded half-even to 10 places."""
    if not exact or exact.adjusted() < -12:
        return Decimal(0).quantize(MONEY_PLACES)
    return exact.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


def moment(value: Any) -> datetime | None:
    """A time cell as UTC; None when it is empty or not a time."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value is None:
        return None
    text = str(value).strip()
    try:
        iso = _ISO.fullmatch(text)
        if iso:
            year, month, day, hour, minute, second, offset = iso.groups()
            when = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                            int(second or 0), tzinfo=UTC)
            return when - _offset(offset)
        us = _US.fullmatch(text)
        if us:
            month, day, year = us.groups()
            return datetime(int(year), int(month), int(day), tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return None


def _offset(text: str | None) -> timedelta:
    if not text or text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
