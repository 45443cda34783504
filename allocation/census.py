"""What an export's cost can be told apart by, before any rule exists. Pure.

`costalloc init` streams a delivery's FOCUS line items through a `SpendCensus`: per currency,
the billed cost of each distinct combination of the things a starter rules file can key on —
the sub-account, the tags as written, and whether the row is a commitment purchase or a tax.
A month has millions of line items but a few thousand such combinations, so the census stays
small; it keeps no line item.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

# What a starter rule treats differently from usage: fees for commitments (reserved
# instances, savings plans, committed use) and taxes follow the spend they belong to.
COMMITMENT = "commitment"
TAX = "tax"
SPEND = "spend"

# The census never grows past this many distinct groups per batch it is given; a tag set that
# is unique per row (ids in tag values) is folded into "no tags" rather than held.
_MAX_GROUPS = 200_000


@dataclass(frozen=True)
class Group:
    """One combination of what rules can key on, as the export wrote it."""

    currency: str
    account_id: str | None
    account_name: str | None
    tags: tuple[tuple[str, str], ...]  # (key, value), keys as written, in the export's order
    charge: str  # COMMITMENT | TAX | SPEND


@dataclass
class SpendCensus:
    """Billed cost and line-item count per `Group`, accumulated batch by batch."""

    cost: dict[Group, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    rows: dict[Group, int] = field(default_factory=lambda: defaultdict(int))
    folded_rows: int = 0  # rows whose tags were too many distinct sets to keep (see _MAX_GROUPS)

    def add(self, line_items: pl.DataFrame) -> None:
        """Count a batch of FOCUS line items."""
        grouped = (
            line_items.lazy()
            .select(
                pl.col("BillingCurrency").alias("currency"),
                pl.col("SubAccountId").cast(pl.String).alias("account_id"),
                pl.col("SubAccountName").cast(pl.String).alias("account_name"),
                pl.col("Tags").cast(pl.String).alias("tags"),
                _charge().alias("charge"),
                pl.col("BilledCost").alias("cost"))
            .group_by("currency", "account_id", "account_name", "tags", "charge")
            .agg(pl.col("cost").sum(), pl.len().alias("rows"))
            .collect())
        fold = grouped.height > _MAX_GROUPS
        for currency, account_id, account_name, tags, charge, cost, rows in grouped.iter_rows():
            pairs = () if fold else _tag_pairs(tags)
            group = Group(currency, account_id, account_name, pairs, charge)
            self.cost[group] += Decimal(cost)
            self.rows[group] += rows
            if fold:
                self.folded_rows += rows

    def currencies(self) -> list[str]:
        """Currencies by descending line items (the main one first): costs in two currencies
        are not compared."""
        rows: dict[str, int] = defaultdict(int)
        for group, count in self.rows.items():
            rows[group.currency] += count
        return sorted(rows, key=lambda c: (-rows[c], c))

    def total(self, currency: str) -> Decimal:
        return sum((c for g, c in self.cost.items() if g.currency == currency), Decimal(0))

    def magnitudes(self) -> dict[str, Decimal]:
        """|billed cost| per currency: what shares of cost on rows with a tag are of."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for group, cost in self.cost.items():
            totals[group.currency] += abs(cost)
        return dict(totals)

    @property
    def line_items(self) -> int:
        return sum(self.rows.values())


def _charge() -> pl.Expr:
    category = pl.col("ChargeCategory")
    return (pl.when((category == "Purchase") & pl.col("CommitmentDiscountId").is_not_null())
            .then(pl.lit(COMMITMENT))
            .when(category == "Tax").then(pl.lit(TAX))
            .otherwise(pl.lit(SPEND)))


def _tag_pairs(tags: str | None) -> tuple[tuple[str, str], ...]:
    """The (key, value) pairs of a `Tags` JSON object; values that are not text are skipped."""
    if not tags:
        return ()
    try:
        parsed = json.loads(tags)
    except ValueError:
        return ()
    if not isinstance(parsed, dict):
        return ()
    return tuple((str(key), value.strip()) for key, value in parsed.items()
                 if isinstance(value, str) and value.strip())
