"""The ARM resource type of any Azure resource id, reservations and savings plans included.

An ARM id alternates type and name after its last `/providers/<namespace>`:
`/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/extensions/x`
is `Microsoft.Compute/virtualMachines/extensions`; a reservation,
`/providers/Microsoft.Capacity/reservationOrders/o/reservations/r` (EA files often end it with
`reservations/` and no name) is `Microsoft.Capacity/reservationOrders/reservations`; a savings
plan is `Microsoft.BillingBenefits/savingsPlanOrders/savingsPlans`. Ids without a provider
segment are subscriptions and resource groups (`Microsoft.Resources/...`). An id that is no ARM
id at all (a bare name) gets the service that billed it, so ResourceType is never null where
ResourceId is set, as FOCUS requires.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from costalloc.connectors.azure.distinct import per_distinct


@cache
def arm_type(resource_id: str) -> str | None:
    """`.../providers/Microsoft.Web/sites/app/slots/s` → `Microsoft.Web/sites/slots`."""
    segments = [segment for segment in resource_id.strip().split("/") if segment]
    lowered = [segment.lower() for segment in segments]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        after = segments[at + 1:]
        if not after:
            return None
        return "/".join([after[0], *after[1::2]])
    if lowered[:1] == ["subscriptions"]:
        if "resourcegroups" in lowered:
            return "Microsoft.Resources/resourceGroups"
        return "Microsoft.Resources/subscriptions"
    return None


def resource_type(resource_id: pl.Expr, billed_by: pl.Expr) -> pl.Expr:
    """The ARM type of each id (per distinct id), else `billed_by`; null without an id."""

    def types(ids: pl.Expr) -> pl.Expr:
        return ids.map_elements(arm_type, return_dtype=pl.String, skip_nulls=True)

    parsed = per_distinct(resource_id, types, pl.String())
    return pl.when(resource_id.is_not_null()).then(
        pl.coalesce(parsed, billed_by, pl.lit("Azure resource")))
