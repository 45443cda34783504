"""Provider unit spellings → FOCUS Unit Format, from the table `tables/units.csv` (data).

Each row maps a unit string a provider publishes (AWS price-list `pricing_unit`, GCP
`usage.unit` / `usage.pricing_unit`, the unit part of Azure's `UnitOfMeasure`, or a unit seen in
providers' own FOCUS exports, `any`) to its FOCUS form. A unit the table doesn't know is kept
when it already follows the FOCUS grammar (`is_focus_unit`); otherwise it gets a conformant
spelling by fixed rules (`conformant_spelling`), so no row ever carries a non-conformant unit.
docs/conformance.md lists the rules; the table's notes say why a mapping is what it is.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources
from typing import Literal

import polars as pl

Provider = Literal["aws", "gcp", "azure", "any"]

_DATA_SIZES = ("b", "Kb", "Mb", "Gb", "Tb", "Pb", "Eb", "B", "KB", "MB", "GB", "TB", "PB", "EB",
               "Kib", "Mib", "Gib", "Tib", "Pib", "Eib", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
_TIME_SINGULAR = ("Year", "Month", "Day", "Hour", "Minute", "Second")
_TIME_PLURAL = tuple(f"{unit}s" for unit in _TIME_SINGULAR)
_COUNT = r"[A-Za-z][A-Za-z0-9]*(?: [A-Za-z][A-Za-z0-9]*)*"
_UNIT = rf"(?:{'|'.join(_DATA_SIZES)}|{_COUNT})"
_PLURAL_TIME = f"(?:{'|'.join(_TIME_PLURAL)})"
_SINGULAR_TIME = f"(?:{'|'.join(_TIME_SINGULAR)})"
# The five forms of the FOCUS 1.2 Unit Format attribute (attributes/unit_format.md).
_FOCUS_UNIT = re.compile(
    rf"^(?:{_UNIT}"                                   # <plural-units>: GB, Requests
    rf"|{_UNIT}-{_PLURAL_TIME}"                       # <unit>-<plural-time>: GB-Hours
    rf"|{_UNIT}/{_SINGULAR_TIME}"                     # <units>/<singular-time>: GB/Hour
    rf"|[0-9]+ {_UNIT}"                               # <quantity> <units>: 1000 Tokens
    rf"|{_UNIT}/[0-9]+ {_PLURAL_TIME})$")             # <units>/<interval> <time>: Units/3 Months
_TIME_WORDS = {"hrs": "Hours", "hr": "Hours", "hour": "Hours", "hours": "Hours", "h": "Hours",
               "mo": "Months", "month": "Months", "months": "Months", "day": "Days",
               "days": "Days", "min": "Minutes", "mins": "Minutes", "minute": "Minutes",
               "minutes": "Minutes", "sec": "Seconds", "secs": "Seconds", "second": "Seconds",
               "seconds": "Seconds", "year": "Years", "years": "Years", "yr": "Years"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def is_focus_unit(unit: str) -> bool:
    """Whether `unit` follows the FOCUS Unit Format grammar."""
    return bool(_FOCUS_UNIT.match(unit))


@cache
def table() -> dict[tuple[str, str], str]:
    """(provider, published spelling) → FOCUS unit, as `tables/units.csv` lists them."""
    text = resources.files("costalloc.connectors.tables").joinpath("units.csv").read_text()
    return {(row["provider"], row["published"]): row["focus"]
            for row in csv.DictReader(text.splitlines())}


@cache
def to_focus_unit(unit: str, provider: Provider) -> str:
    """The FOCUS spelling of one published unit: the table (the provider's rows, then `any`),
    else the unit itself when it already conforms, else `conformant_spelling`."""
    mapping = table()
    stripped = unit.strip()
    for key in ((provider, stripped), ("any", stripped)):
        if key in mapping:
            return mapping[key]
    return stripped if _keeps(stripped) else conformant_spelling(stripped)


def _keeps(unit: str) -> bool:
    """Conformant as published: the grammar holds, nouns are capitalised and no `per` stands
    where FOCUS wants a slash (the validator's pattern accepts `gigabytes per hour`)."""
    return (is_focus_unit(unit) and " per " not in unit.lower()
            and all(word != word.lower() or word[:1].isdigit() or word in _DATA_SIZES
                    for word in re.split(r"[\s/-]+", unit) if word))


def conformant_spelling(unit: str) -> str:
    """A unit no table knows, made to fit the grammar without guessing its meaning:
    `<x>-<time word>` → `<x>-<Plural time>` (`Widget-Hrs` → `Widget-Hours`); `<x> per <time>` →
    `<x>/<Time>`; camel case split into capitalised words (`ActiveWidgets` → `Active Widgets`);
    other characters become spaces. What still doesn't fit is `Units`."""
    text = unit.strip()
    per = re.fullmatch(r"(?i)(.+?)\s+per\s+([a-z]+)", text)
    if per and per.group(2).lower() in _TIME_WORDS:
        candidate = f"{_words(per.group(1))}/{_TIME_WORDS[per.group(2).lower()][:-1]}"
        if is_focus_unit(candidate):
            return candidate
    timed = re.fullmatch(r"(.+?)[-\s]([A-Za-z]+)", text)
    if timed and timed.group(2).lower() in _TIME_WORDS:
        candidate = f"{_words(timed.group(1))}-{_TIME_WORDS[timed.group(2).lower()]}"
        if is_focus_unit(candidate):
            return candidate
    candidate = _words(text)
    return candidate if candidate and is_focus_unit(candidate) else "Units"


def _words(text: str) -> str:
    if text in _DATA_SIZES:
        return text
    spaced = _CAMEL.sub(" ", re.sub(r"[^A-Za-z0-9]+", " ", text)).split()
    return " ".join(word[:1].upper() + word[1:] for word in spaced)


def focus_unit(unit: pl.Expr, provider: Provider) -> pl.Expr:
    """`unit` in FOCUS Unit Format, computed once per distinct value of a batch; null stays
    null (and so does an empty string)."""

    def convert(values: pl.Series) -> pl.Series:
        distinct = values.drop_nulls().unique().to_list()
        mapping = {value: to_focus_unit(value, provider) for value in distinct if value.strip()}
        return values.replace_strict(mapping, default=None, return_dtype=pl.String)

    return unit.cast(pl.String).map_batches(convert, return_dtype=pl.String)
