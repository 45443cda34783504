"""Which FOCUS version a file is, from its columns, and how its columns map to the contract's.

| version | told by (columns the earlier versions lack)                              |
|---------|---------------------------------------------------------------------------|
| 1.3     | `ServiceProviderName`, `HostProviderName`, `Allocated*`, `ContractApplied` |
| 1.2     | `BillingAccountType`, `SubAccountType`, `InvoiceId`, `PricingCurrency*`     |
| 1.1     | `CapacityReservationId`, `CommitmentDiscountQuantity`, `SkuMeter`, ...      |
| 1.0     | none of those                                                             |

Renamed and deprecated columns, each way round (`renamed`): 1.0-preview's `Region` is
`RegionId`; 1.3 renamed `ProviderName` to `ServiceProviderName` and deprecated `PublisherName`,
so a 1.3 file without them gets both from `ServiceProviderName` (`HostProviderName` from it too
when absent), and an older file gets the 1.3 pair from `ProviderName`.
"""

from __future__ import annotations

from typing import Literal

Version = Literal["1.0", "1.1", "1.2", "1.3"]
VERSIONS: tuple[Version, ...] = ("1.0", "1.1", "1.2", "1.3")

# Columns first defined in each version (Cost and Usage dataset), newest first.
INTRODUCED: dict[Version, tuple[str, ...]] = {
    "1.3": ("ServiceProviderName", "HostProviderName", "AllocatedMethodId",
            "AllocatedMethodDetails", "AllocatedResourceId", "AllocatedResourceName",
            "AllocatedTags", "ContractApplied"),
    "1.2": ("BillingAccountType", "SubAccountType", "InvoiceId", "PricingCurrency",
            "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost",
            "PricingCurrencyListUnitPrice"),
    "1.1": ("CapacityReservationId", "CapacityReservationStatus", "CommitmentDiscountQuantity",
            "CommitmentDiscountUnit", "ServiceSubcategory", "SkuMeter", "SkuPriceDetails"),
}
# Older spellings of a contract column, per version that used them.
OLD_SPELLINGS: dict[str, str] = {"Region": "RegionId"}


def detect(columns: list[str]) -> Version:
    """The newest version whose own columns the file has."""
    present = set(columns)
    for version in VERSIONS[:0:-1]:  # 1.3, 1.2, 1.1
        if present & set(INTRODUCED[version]):
            return version
    return "1.0"
