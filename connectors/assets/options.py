"""`kind: asset-register` options."""

from __future__ import annotations

from pydantic import Field

from costalloc.connectors.options import ObjectStoreOptions


class AssetRegisterOptions(ObjectStoreOptions):
    """The `options:` of an asset-register source."""

    provider: str = Field(default="On-premises", min_length=1,
                          description="ProviderName (and publisher, invoice issuer) of its rows")
    account: str | None = Field(default=None, min_length=1,
                                description="BillingAccountId of its rows (default: the source "
                                            "name)")
    service_category: str = Field(default="Compute", min_length=1,
                                  description="FOCUS ServiceCategory of its rows")
