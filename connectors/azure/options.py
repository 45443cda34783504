"""The `options` each Azure source kind accepts (validated, `extra="forbid"`), and the
`dataset` rule that picks what an export month loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from costalloc.connectors.azure.amounts import ACTUAL, AMORTIZED, FOCUS
from costalloc.connectors.options import SourceOptions
from costalloc.core.errors import ConfigurationError, SourceError
from costalloc.core.period import BillingPeriod

COMBINED = f"{ACTUAL}+{AMORTIZED}"
DatasetOption = Literal["auto", "ActualCost", "AmortizedCost", "FocusCost", "ActualCost+AmortizedCost"]


class _AzureOptions(SourceOptions):
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$",
        description="Billing currency for files without a currency column (older EA)")
    batch_rows: int = Field(default=250_000, ge=1_000, description="Rows per batch in memory")


class ExportOptions(_AzureOptions):
    """`kind: azure-export`."""

    dataset: DatasetOption = Field(
        default="auto",
        description="auto: FocusCost if exported, else ActualCost and AmortizedCost together "
                    "when both are, else the one that is")
    account_url: str | None = Field(
        default=None, description="`https://<account>.blob.core.windows.net`, for "
                                  "`abfs://<container>` URIs without an account")


class CostDetailsOptions(_AzureOptions):
    """`kind: azure-cost-details`."""

    scope: str = Field(
        description="`subscriptions/<id>`, `providers/Microsoft.Billing/billingAccounts/<id>`, ...")
    metric: Literal["ActualCost", "AmortizedCost"] = Field(
        default="ActualCost", description="Which cost the report holds")
    max_wait_minutes: float = Field(default=30, gt=0,
                                    description="Give up waiting for the report after this long")
    poll_seconds: float = Field(default=15, ge=0,
                                description="First wait between polls without Retry-After; doubles")
    base_url: str | None = Field(default=None,
                                 description="Resource Manager endpoint (sovereign clouds)")

    @field_validator("scope")
    @classmethod
    def _scope_without_slash(cls, scope: str) -> str:
        scope = scope.strip().strip("/")
        if not scope:
            raise ValueError("a scope such as `subscriptions/<id>` is required")
        return scope


@dataclass(frozen=True)
class Choice:
    dataset: str
    combined: bool = False


def choose(source: str, period: BillingPeriod, scope: str, available: set[str],
           option: str) -> list[Choice]:
    """Which of a scope's current runs to load for the month (see `ExportOptions.dataset`)."""
    if option == "auto":
        if FOCUS in available:
            return [Choice(FOCUS)]
        if {ACTUAL, AMORTIZED} <= available:
            return [Choice(ACTUAL, combined=True), Choice(AMORTIZED, combined=True)]
        return [Choice(dataset) for dataset in sorted(available)][:1]
    if option == COMBINED:
        missing = sorted({ACTUAL, AMORTIZED} - available)
        if missing:
            raise SourceError(
                source, period,
                f"`dataset: {COMBINED}` needs both exports of `{scope}`, but no {missing[0]} run "
                f"covers {period} yet (found: {', '.join(sorted(available))}); the previous load "
                "stays published")
        return [Choice(ACTUAL, combined=True), Choice(AMORTIZED, combined=True)]
    return [Choice(option)] if option in available else []


def legacy_dataset(source: str, option: str) -> str:
    """Legacy exports don't say what they hold: ActualCost unless the option says otherwise."""
    if option in ("auto", ACTUAL):
        return ACTUAL
    if option == AMORTIZED:
        return AMORTIZED
    raise ConfigurationError(
        f"source `{source}`: legacy exports (no manifest.json) hold one dataset, ActualCost or "
        f"AmortizedCost; `dataset: {option}` can't apply to them")
