"""The FOCUS contract every connector emits: FOCUS 1.2 Cost and Usage columns, the 1.3
`ServiceProviderName` / `HostProviderName`, and costalloc's own `x_` columns.

Money is DECIMAL(38, 10) everywhere; timestamps are UTC; `Tags` and `SkuPriceDetails` are
JSON object text.
"""

from __future__ import annotations

import polars as pl

MONEY = pl.Decimal(38, 10)
QUANTITY = pl.Decimal(38, 10)
UTC_TIME = pl.Datetime("us", "UTC")

FOCUS_COLUMNS: dict[str, pl.DataType] = {
    "AvailabilityZone": pl.String(),
    "BilledCost": MONEY,
    "BillingAccountId": pl.String(),
    "BillingAccountName": pl.String(),
    "BillingAccountType": pl.String(),
    "BillingCurrency": pl.String(),
    "BillingPeriodEnd": UTC_TIME,
    "BillingPeriodStart": UTC_TIME,
    "CapacityReservationId": pl.String(),
    "CapacityReservationStatus": pl.String(),
    "ChargeCategory": pl.String(),
    "ChargeClass": pl.String(),
    "ChargeDescription": pl.String(),
    "ChargeFrequency": pl.String(),
    "ChargePeriodEnd": UTC_TIME,
    "ChargePeriodStart": UTC_TIME,
    "CommitmentDiscountCategory": pl.String(),
    "CommitmentDiscountId": pl.String(),
    "CommitmentDiscountName": pl.String(),
    "CommitmentDiscountQuantity": QUANTITY,
    "CommitmentDiscountStatus": pl.String(),
    "CommitmentDiscountType": pl.String(),
    "CommitmentDiscountUnit": pl.String(),
    "ConsumedQuantity": QUANTITY,
    "ConsumedUnit": pl.String(),
    "ContractedCost": MONEY,
    "ContractedUnitPrice": MONEY,
    "EffectiveCost": MONEY,
    "HostProviderName": pl.String(),
    "InvoiceId": pl.String(),
    "InvoiceIssuerName": pl.String(),
    "ListCost": MONEY,
    "ListUnitPrice": MONEY,
    "PricingCategory": pl.String(),
    "PricingCurrency": pl.String(),
    "PricingCurrencyContractedUnitPrice": MONEY,
    "PricingCurrencyEffectiveCost": MONEY,
    "PricingCurrencyListUnitPrice": MONEY,
    "PricingQuantity": QUANTITY,
    "PricingUnit": pl.String(),
    "ProviderName": pl.String(),
    "PublisherName": pl.String(),
    "RegionId": pl.String(),
    "RegionName": pl.String(),
    "ResourceId": pl.String(),
    "ResourceName": pl.String(),
    "ResourceType": pl.String(),
    "ServiceCategory": pl.String(),
    "ServiceName": pl.String(),
    "ServiceProviderName": pl.String(),
    "ServiceSubcategory": pl.String(),
    "SkuId": pl.String(),
    "SkuMeter": pl.String(),
    "SkuPriceDetails": pl.String(),
    "SkuPriceId": pl.String(),
    "SubAccountId": pl.String(),
    "SubAccountName": pl.String(),
    "SubAccountType": pl.String(),
    "Tags": pl.String(),
}

# costalloc's own columns. `x_line_item_id` numbers the rows of one (source, period)
# partition in delivery order, so allocation lineage can point at a line item exactly.
PROJECT_COLUMNS: dict[str, pl.DataType] = {
    "x_source": pl.String(),
    "x_billing_period": pl.String(),
    "x_line_item_id": pl.Int64(),
    "x_source_file": pl.String(),
    "x_ingest_run_id": pl.String(),
    "x_provider_line_item_id": pl.String(),
    "x_line_item_type": pl.String(),
    "x_service_code": pl.String(),
    "x_usage_type": pl.String(),
    "x_operation": pl.String(),
    "x_credits": pl.String(),  # GCP: the row's credits as JSON (type, name, id, amount)
    "x_credit_amount": MONEY,  # GCP: their sum; BilledCost − x_credit_amount = the export's cost
    "x_adjustment_info": pl.String(),  # GCP: adjustment_info as JSON
    "x_export_time": UTC_TIME,  # GCP: export_time, to trace late-arriving rows
    "x_cost_dataset": pl.String(),  # Azure: ActualCost | AmortizedCost | FocusCost
    "x_resource_group": pl.String(),  # Azure
    "x_meter_id": pl.String(),  # Azure
    "x_meter_category": pl.String(),  # Azure
    "x_pricing_model": pl.String(),  # Azure: OnDemand, Reservation, SavingsPlan, Spot
    "x_billing_account_id": pl.String(),  # Azure MCA: the billing account (BillingAccountId
    #                                       holds the billing profile)
    "x_invoice_section_id": pl.String(),  # Azure MCA
    "x_invoice_section_name": pl.String(),  # Azure MCA
    "x_cost_center": pl.String(),  # Azure EA: the cost center set on the subscription
}

# `x_line_item_type` values for on-premises assets (connectors/assets); the CapEx policy treats
# them as capitalized, the asset register being the evidence.
ASSET_ROW_TYPES = ("AssetPurchase", "Depreciation")

LINE_ITEM_COLUMNS: dict[str, pl.DataType] = {**FOCUS_COLUMNS, **PROJECT_COLUMNS}
MONEY_COLUMNS = tuple(name for name, dtype in FOCUS_COLUMNS.items() if dtype == MONEY)
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")


def conform(line_items: pl.LazyFrame) -> pl.LazyFrame:
    """Add every contract column a connector didn't produce (as null), cast, order."""
    present = set(line_items.collect_schema().names())
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in LINE_ITEM_COLUMNS.items()
        if name not in present
    ]
    return line_items.with_columns(missing).select(
        pl.col(name).cast(dtype) for name, dtype in LINE_ITEM_COLUMNS.items()
    )
