"""What a FOCUS file from a provider needs so the line items meet FOCUS 1.2, and FOCUS defines
from the file's own columns (no value is invented):

- enumerations in the spec's spelling, matched case-insensitively (`Usage-based` → `Usage-Based`);
- account names: an empty name is the account's id (as the providers' consoles show it);
  `BillingAccountType` / `SubAccountType` (new in 1.2) from the provider (`ACCOUNT_TYPES`);
- `RegionName` from the provider's region table when only `RegionId` is given, and null when
  there is no `RegionId` (FOCUS pairs them);
- `ResourceType` from the ARM id for Microsoft rows, else the `ServiceName`, when only a
  `ResourceId` is given, and null without a `ResourceId`;
- `ServiceSubcategory` (new in 1.1) `Other (<ServiceCategory>)` when the file has none;
- `SkuMeter` (new in 1.1) the `ChargeDescription` when the file has none;
- quantities FOCUS says must be null (consumption of non-usage or unused-commitment rows) are
  null, with their units; a negative unit price (FOCUS prices are never negative) is null.
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors.aws.regions import region_names as aws_region_names
from costalloc.connectors.gcp.regions import REGION_NAMES as GCP_REGION_NAMES

ENUMERATIONS: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeClass": ("Correction",),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "PricingCategory": ("Standard", "Dynamic", "Committed", "Other"),
    "CommitmentDiscountStatus": ("Used", "Unused"),
    "CommitmentDiscountCategory": ("Spend", "Usage"),
    "CapacityReservationStatus": ("Used", "Unused"),
}
# (BillingAccountType, SubAccountType) per ProviderName, as each provider's own FOCUS 1.2
# export names them; a provider not listed gets the generic pair.
ACCOUNT_TYPES: dict[str, tuple[str, str]] = {
    "AWS": ("Payer Account", "Linked Account"),
    "Microsoft": ("Billing Profile", "Subscription"),
    "Google Cloud": ("Billing Account", "Project"),
    "Google": ("Billing Account", "Project"),
    "Oracle": ("Tenancy", "Compartment"),
}
GENERIC_ACCOUNT_TYPES = ("Billing Account", "Sub Account")


def _regions(provider: str) -> dict[str, str]:
    if provider == "AWS":
        return aws_region_names()
    if provider == "Microsoft":
        # imported here: the azure package imports this module's reader (FocusCost exports)
        from costalloc.connectors.azure.regions import REGIONS
        return {region: names[0] for region, names in REGIONS.items()}
    if provider.startswith("Google"):
        return GCP_REGION_NAMES
    return {}


def consistent(focus: pl.LazyFrame, has: set[str]) -> pl.LazyFrame:
    """`focus` (contract columns, those in `has` from the file) made consistent as above."""
    provider = pl.col("ProviderName")
    enums = [_spelled(name) for name in ENUMERATIONS if name in has]
    accounts = [
        pl.coalesce(pl.col("BillingAccountName"), pl.col("BillingAccountId"))
        .alias("BillingAccountName"),
        pl.when(pl.col("SubAccountId").is_not_null())
        .then(pl.coalesce(pl.col("SubAccountName"), pl.col("SubAccountId")))
        .alias("SubAccountName"),
        pl.when(pl.col("BillingAccountId").is_not_null())
        .then(pl.coalesce(pl.col("BillingAccountType"), _account_type(provider, 0)))
        .alias("BillingAccountType"),
        pl.when(pl.col("SubAccountId").is_not_null())
        .then(pl.coalesce(pl.col("SubAccountType"), _account_type(provider, 1)))
        .alias("SubAccountType"),
    ]
    region = pl.col("RegionId")
    resource = pl.col("ResourceId")
    # only a charge FOCUS names as carrying no consumption loses its quantity: an unknown
    # category is the provider's to explain, not ours to empty
    no_consumption = pl.col("ChargeCategory").is_in(("Purchase", "Tax", "Credit", "Adjustment"))
    unused = (pl.col("ChargeCategory") == "Usage") & (
        pl.col("CommitmentDiscountStatus").fill_null("") == "Unused")
    consumed = ~(no_consumption | unused).fill_null(False)
    placed = [
        pl.when(region.is_not_null())
        .then(pl.coalesce(pl.col("RegionName"), _region_name(provider, region), region))
        .alias("RegionName"),
        pl.when(resource.is_not_null())
        .then(pl.coalesce(pl.col("ResourceType"), _arm_type(provider, resource),
                          pl.col("ServiceName")))
        .alias("ResourceType"),
        pl.when(consumed).then(pl.col("ConsumedQuantity")).alias("ConsumedQuantity"),
        pl.when(consumed & pl.col("ConsumedQuantity").is_not_null()).then(pl.col("ConsumedUnit"))
        .alias("ConsumedUnit"),
        *(pl.when(pl.col(name) >= 0).then(pl.col(name)).alias(name)
          for name in ("ContractedUnitPrice", "ListUnitPrice")),
    ]
    if "ServiceSubcategory" not in has:
        placed.append((pl.lit("Other (") + pl.col("ServiceCategory") + pl.lit(")"))
                      .alias("ServiceSubcategory"))
    if "SkuMeter" not in has:
        placed.append(pl.when(pl.col("SkuId").is_not_null()).then(pl.col("ChargeDescription"))
                      .alias("SkuMeter"))
    return focus.with_columns(*enums, *accounts).with_columns(placed)


def _spelled(name: str) -> pl.Expr:
    """`name` in the spec's spelling when it matches one case-insensitively, else as given."""
    spellings = {value.lower(): value for value in ENUMERATIONS[name]}
    lowered = pl.col(name).str.to_lowercase()
    return pl.coalesce(lowered.replace_strict(spellings, default=None, return_dtype=pl.String),
                       pl.col(name)).alias(name)


def _account_type(provider: pl.Expr, which: int) -> pl.Expr:
    types = {name: pair[which] for name, pair in ACCOUNT_TYPES.items()}
    return provider.replace_strict(types, default=GENERIC_ACCOUNT_TYPES[which],
                                   return_dtype=pl.String)


def _region_name(provider: pl.Expr, region: pl.Expr) -> pl.Expr:
    branches = pl.lit(None, dtype=pl.String)
    for name in ("AWS", "Microsoft", "Google Cloud", "Google"):
        table = _regions(name)
        branches = pl.when(provider == name).then(
            region.replace_strict(table, default=None, return_dtype=pl.String)).otherwise(branches)
    return branches


def _arm_type(provider: pl.Expr, resource: pl.Expr) -> pl.Expr:
    from costalloc.connectors.azure.resource_types import arm_type  # see `_regions`

    parsed = resource.map_elements(arm_type, return_dtype=pl.String, skip_nulls=True)
    return pl.when(provider == "Microsoft").then(parsed)
