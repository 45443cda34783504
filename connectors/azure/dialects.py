"""Tell an Azure cost file's dialect from its header alone, and map its columns.

| dialect         | recognised by                                   | written by                          |
|-----------------|-------------------------------------------------|-------------------------------------|
| `ea`            | `CostInBillingCurrency` (PascalCase)            | EA exports, usage details 2019+     |
| `mca`           | `costInBillingCurrency` (camelCase)             | MCA / CSP exports and Cost Details  |
| `unified`       | `Cost` + `BillingCurrency`                      | 2025 exports (EA and MCA alike)     |
| `ea-legacy`     | `PreTaxCost` + an EA column (`AccountName`, ...)| older EA exports                    |
| `pay-as-you-go` | `PreTaxCost` without EA columns                 | MOSP / pay-as-you-go exports        |
| `focus`         | `BilledCost`, `EffectiveCost`, `ChargePeriodStart` | FocusCost exports 1.0 … 1.2      |

Any of the first five may come with localized headers (`Name (EnglishName)`), which count
as their English name, and with a UTF-8 byte order mark, which is ignored. Whether a file
holds actual or amortized cost is not in its header (the column lists are identical): it
comes from the export's manifest or the source's options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from costalloc.connectors.azure.columns import FOCUS_MARKERS, REQUIRED, SPELLINGS

_LOCALIZED = re.compile(r"^.*\(\s*([A-Za-z][A-Za-z0-9_ ]*?)\s*\)$")
_EA_ONLY = ("accountname", "departmentname", "accountownerid", "subscriptionname")
_BY_SPELLING = {spelling: canonical for canonical, spellings in SPELLINGS.items()
                for spelling in spellings}


class HeaderNotRecognized(ValueError):
    """A header without the columns every Azure cost file has (a cost and a date)."""

    def __init__(self, missing: list[str], unmapped: list[str]) -> None:
        self.missing = missing
        self.unmapped = unmapped
        wanted = "; ".join(f"`{name}` (one of {', '.join(SPELLINGS[name])})" for name in missing)
        found = ", ".join(f"`{c}`" for c in unmapped[:12]) or "none"
        more = f" and {len(unmapped) - 12} more" if len(unmapped) > 12 else ""
        super().__init__(
            f"the header is not an Azure cost export this version knows: missing {wanted}; "
            f"columns it could not map: {found}{more}")


@dataclass(frozen=True)
class Dialect:
    """A header's dialect and, for every canonical column it has, the raw column that holds it."""

    name: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical → raw
    unmapped: tuple[str, ...] = ()
    localized: bool = False

    def raw(self, canonical: str) -> str | None:
        return self.columns.get(canonical)


def clean_header(header: str) -> str:
    """`\\ufeffKategorie der Verbrauchseinheit (MeterCategory) ` → `metercategory`."""
    text = header.replace("\ufeff", "").strip().strip('"').strip()
    localized = _LOCALIZED.match(text)
    if localized:
        text = localized.group(1)
    return re.sub(r"\s+", "", text).lower()


def detect(headers: list[str]) -> Dialect:
    """The dialect of a header; raises `HeaderNotRecognized` naming what is missing."""
    cleaned = {header: clean_header(header) for header in headers}
    present = set(cleaned.values())
    if all(marker in present for marker in FOCUS_MARKERS):
        return Dialect("focus", {c: h for h, c in cleaned.items()})
    columns: dict[str, str] = {}
    rank: dict[str, int] = {}
    unmapped = []
    for header, spelling in cleaned.items():
        canonical = _BY_SPELLING.get(spelling)
        if canonical is None:
            unmapped.append(header)
            continue
        order = SPELLINGS[canonical].index(spelling)
        if canonical not in columns or order < rank[canonical]:
            columns[canonical], rank[canonical] = header, order
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise HeaderNotRecognized(missing, unmapped)
    localized = any(_LOCALIZED.match(h.strip()) for h in headers)
    return Dialect(_name(columns, present), columns, tuple(unmapped), localized)


def _name(columns: dict[str, str], present: set[str]) -> str:
    cost = clean_header(columns["cost"])
    if cost in ("pretaxcost", "extendedcost"):
        return "ea-legacy" if any(c in present for c in _EA_ONLY) else "pay-as-you-go"
    if cost == "cost":
        return "unified"
    raw = columns["cost"].replace("\ufeff", "").strip()
    english = _LOCALIZED.match(raw)
    spelled = english.group(1) if english else raw
    return "mca" if spelled[:1].islower() else "ea"
