"""Which Azure cost lands in BilledCost and which in EffectiveCost, row by row.

Azure writes one cost column; what it means depends on the dataset the row came from:

| row (ChargeType, PricingModel)        | ActualCost dataset        | AmortizedCost dataset      |
|---------------------------------------|---------------------------|----------------------------|
| on-demand usage, marketplace, tax ... | Billed = Effective = cost | Billed = Effective = cost  |
| usage covered by a commitment         | Billed = Effective = cost (0) | Billed 0, Effective = cost |
| UnusedReservation / UnusedSavingsPlan | (not in this dataset)     | Billed 0, Effective = cost |
| Purchase / Refund of a commitment     | Billed = cost, Effective 0 | (not in this dataset)     |

(a commitment is a reservation or a savings plan; amortized cost is in the AmortizedCost
dataset's cost column)

So an ActualCost export alone makes BilledCost tie out to the invoice (its total is the
file's own cost total) but carries no amortization: EffectiveCost is the billed cost without
commitment purchases. An AmortizedCost export alone makes EffectiveCost tie out to the
amortized view, and BilledCost lacks the commitment purchases it doesn't contain. Loaded
together (`dataset: ActualCost+AmortizedCost`, or `auto` when both exist) every amortized row
is read plus the commitment purchases and refunds of the actual dataset, and both tie out.

The control total the loader checks is the BilledCost rule applied to the raw rows.
"""

from __future__ import annotations

from typing import Final, Literal

import polars as pl

from costalloc.connectors.azure.canonical import Canonical
from costalloc.core.focus import MONEY

Dataset = Literal["ActualCost", "AmortizedCost", "FocusCost"]
ACTUAL: Final = "ActualCost"
AMORTIZED: Final = "AmortizedCost"
FOCUS: Final = "FocusCost"
DATASET_COLUMN: Final = "x_cost_dataset"  # added to raw rows by the reader

RESERVATION: Final = "reservation"
SAVINGS_PLAN: Final = "savingsplan"
_USAGE_TYPES = ("usage", "unusedreservation", "unusedsavingsplan")
_PURCHASE_TYPES = ("purchase", "refund")
_UNUSED = {"unusedreservation": RESERVATION, "unusedsavingsplan": SAVINGS_PLAN}


def dataset(c: Canonical) -> pl.Expr:
    """The dataset each row came from (rows without the marker are actual cost)."""
    return c.text(DATASET_COLUMN).fill_null(pl.lit(ACTUAL))


def charge_type(c: Canonical) -> pl.Expr:
    """`ChargeType` lower-cased; files without the column (pay-as-you-go) are all usage."""
    return c.lower("charge_type").fill_null(pl.lit("usage"))


def pricing_model(c: Canonical) -> pl.Expr:
    """`OnDemand` / `On Demand` → `ondemand`; `SavingsPlan` / `Savings Plan` → `savingsplan`."""
    return c.lower("pricing_model")


def commitment(c: Canonical) -> pl.Expr:
    """`reservation`, `savingsplan`, or null: the commitment a row buys, uses or leaves unused."""
    model = pricing_model(c)
    benefit = pl.coalesce(c.text("benefit_id"), c.text("reservation_id"))
    inferred = (
        pl.when(benefit.str.to_lowercase().str.contains("savingsplan")).then(pl.lit(SAVINGS_PLAN))
        .when(benefit.is_not_null()).then(pl.lit(RESERVATION))
    )
    from_model = (pl.when(model.is_in((RESERVATION, SAVINGS_PLAN))).then(model)
                  .when(model.is_null()).then(inferred)
                  if c.has("pricing_model") else inferred)
    return (charge_type(c).replace_strict(_UNUSED, default=None, return_dtype=pl.String)
            .fill_null(from_model))


def is_commitment_purchase(c: Canonical) -> pl.Expr:
    """A reservation or savings plan bought (or refunded): amortized elsewhere."""
    return charge_type(c).is_in(_PURCHASE_TYPES) & commitment(c).is_not_null()


def is_amortized_only(c: Canonical) -> pl.Expr:
    """Cost that exists only once amortized: covered usage and unused commitment."""
    return charge_type(c).is_in(_USAGE_TYPES) & commitment(c).is_not_null()


def billed_cost(c: Canonical) -> pl.Expr:
    cost = c.money("cost")
    zero = pl.lit(0, dtype=MONEY)
    return (pl.when((dataset(c) == AMORTIZED) & is_amortized_only(c)).then(zero)
            .otherwise(cost).cast(MONEY))


def effective_cost(c: Canonical) -> pl.Expr:
    cost = c.money("cost")
    zero = pl.lit(0, dtype=MONEY)
    return pl.when(is_commitment_purchase(c)).then(zero).otherwise(cost).cast(MONEY)
