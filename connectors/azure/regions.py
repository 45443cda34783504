"""Azure region names → FOCUS `RegionId` / `RegionName` (a lookup, not logic).

Cost files name a region three ways: its id (`eastus`, in `ResourceLocation` of newer
exports), its display name (`East US`) or the meter-region spelling (`US East`, `EU West`,
`CA Central`) that older EA files and `MeterRegion` use. All three map to the id and the
display name. A name not in the table keeps its own letters and digits, lower-cased, as the
id (`East US 3` → `eastus3`), which is how Azure forms ids.
"""

from __future__ import annotations

import re
from typing import Final

import polars as pl

# id → (display name, meter-region spelling)
REGIONS: Final[dict[str, tuple[str, str]]] = {
    "eastus": ("East US", "US East"),
    "eastus2": ("East US 2", "US East 2"),
    "westus": ("West US", "US West"),
    "westus2": ("West US 2", "US West 2"),
    "westus3": ("West US 3", "US West 3"),
    "centralus": ("Central US", "US Central"),
    "northcentralus": ("North Central US", "US North Central"),
    "southcentralus": ("South Central US", "US South Central"),
    "westcentralus": ("West Central US", "US West Central"),
    "canadacentral": ("Canada Central", "CA Central"),
    "canadaeast": ("Canada East", "CA East"),
    "brazilsouth": ("Brazil South", "BR South"),
    "mexicocentral": ("Mexico Central", "MX Central"),
    "northeurope": ("North Europe", "EU North"),
    "westeurope": ("West Europe", "EU West"),
    "uksouth": ("UK South", "UK South"),
    "ukwest": ("UK West", "UK West"),
    "francecentral": ("France Central", "FR Central"),
    "germanywestcentral": ("Germany West Central", "DE West Central"),
    "switzerlandnorth": ("Switzerland North", "CH North"),
    "norwayeast": ("Norway East", "NO East"),
    "swedencentral": ("Sweden Central", "SE Central"),
    "polandcentral": ("Poland Central", "PL Central"),
    "italynorth": ("Italy North", "IT North"),
    "spaincentral": ("Spain Central", "ES Central"),
    "eastasia": ("East Asia", "AP East"),
    "southeastasia": ("Southeast Asia", "AP Southeast"),
    "japaneast": ("Japan East", "JA East"),
    "japanwest": ("Japan West", "JA West"),
    "koreacentral": ("Korea Central", "KR Central"),
    "koreasouth": ("Korea South", "KR South"),
    "australiaeast": ("Australia East", "AU East"),
    "australiasoutheast": ("Australia Southeast", "AU Southeast"),
    "australiacentral": ("Australia Central", "AU Central"),
    "centralindia": ("Central India", "IN Central"),
    "southindia": ("South India", "IN South"),
    "westindia": ("West India", "IN West"),
    "uaenorth": ("UAE North", "AE North"),
    "qatarcentral": ("Qatar Central", "QA Central"),
    "israelcentral": ("Israel Central", "IL Central"),
    "southafricanorth": ("South Africa North", "ZA North"),
}
# spellings that mean "no particular region"
NOWHERE: Final = ("", "global", "unassigned", "unknown", "all regions", "intercontinental",
                  "zone 1", "zone 2", "zone 3")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_ID_BY_KEY: Final = {
    _key(spelling): region_id
    for region_id, names in REGIONS.items()
    for spelling in (region_id, *names)
}
_NAME_BY_ID: Final = {region_id: names[0] for region_id, names in REGIONS.items()}


def region_id(location: pl.Expr) -> pl.Expr:
    """A location in any spelling → its Azure region id; null for global/unassigned."""
    key = location.cast(pl.String).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")
    known = key.replace_strict(_ID_BY_KEY, default=key, return_dtype=pl.String)
    nowhere = [_key(name) for name in NOWHERE]
    return pl.when(key.is_null() | key.is_in(nowhere)).then(None).otherwise(known)


def region_name(region: pl.Expr, location: pl.Expr) -> pl.Expr:
    """The display name of a region id; the file's own spelling when the id is not known."""
    known = region.replace_strict(_NAME_BY_ID, default=None, return_dtype=pl.String)
    return pl.when(region.is_not_null()).then(pl.coalesce(known, location.cast(pl.String)))
