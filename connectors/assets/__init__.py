"""`kind: asset-register` — on-premises assets (GPU servers...) as FOCUS line items.

`uri` is a CSV or Parquet register (a local path or `s3://…`) with the columns
asset_id, description, cost, currency, in_service_date, useful_life_months, salvage_value,
environment, workstream (more columns become tags). For each billing period it emits:
- the purchase, in the in-service month: ChargeCategory Purchase, BilledCost = cost,
  EffectiveCost 0 (as FOCUS treats any prepaid purchase);
- the month's straight-line depreciation (`schedule.py`): ChargeCategory Usage, BilledCost 0,
  EffectiveCost = the depreciation.
The allocation's CapEx policy treats both as CapEx, the register being the evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, time
from decimal import Decimal

import polars as pl

from costalloc.connectors import tags
from costalloc.connectors.assets.options import AssetRegisterOptions
from costalloc.connectors.assets.schedule import Asset, depreciation_schedule
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.files import stream_file
from costalloc.connectors.money import money, totals_by_currency
from costalloc.connectors.storage import open_location, storage_errors
from costalloc.core.errors import DataError, SourceError
from costalloc.core.focus import MONEY, UTC_TIME
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

REQUIRED = ("asset_id", "description", "cost", "currency", "in_service_date",
            "useful_life_months")


class AssetRegisterConnector:
    """`kind: asset-register`."""

    def __init__(self, settings: SourceSettings) -> None:
        options = AssetRegisterOptions.of(settings)
        self.name = settings.name
        folder, _, file = settings.uri.rstrip("/").rpartition("/")
        self.location = open_location(folder or ".", options.storage())
        self.file = file
        self.provider = options.provider
        self.account = options.account or settings.name
        self.category = options.service_category

    def find_delivery(self, period: BillingPeriod) -> Delivery:
        """The register as it is now (its fingerprint is a hash of its bytes). A register that
        does not exist is an error: it is our own file, there is no delivery to wait for."""
        with storage_errors(self.name, period, f"reading the register `{self.file}`",
                            self.location):
            if not self.location.exists(self.file):
                missing = self.location.missing()
                raise SourceError(self.name, period,
                                  f"the asset register `{self.file}` does not exist in "
                                  f"`{self.location.uri}`" + (f" ({missing})" if missing else "")
                                  + "; check the source's `uri`. Nothing was loaded")
            path = self.location.path(self.file)  # confined to its folder, links resolved
            with self.location.filesystem.open_input_stream(path) as stream:
                digest = hashlib.sha256(stream.read()).hexdigest()[:16]
        return Delivery(self.name, period, digest, (self.file,))

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        with storage_errors(self.name, delivery.period, f"the register `{self.file}`"):
            path = self.location.path(self.file)
        for first_row, rows in stream_file(self.location.filesystem, path,
                                           source=self.name, period=delivery.period):
            missing = [c for c in REQUIRED if c not in rows.columns]
            if missing:
                raise DataError(self.name, delivery.period,
                                f"`{self.file}` lacks column(s) {', '.join(missing)} "
                                f"(expected {', '.join(REQUIRED)})")
            yield RawBatch(self.file, first_row, _with_period(rows, delivery.period))

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return [c for c in ("cost", "salvage_value") if c in raw.columns]

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return []  # a register's rows carry no quantity or price of their own

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        """What the register says was bought in the period: the BilledCost of its purchases."""
        cost = money("cost", raw.schema)
        bought = pl.when(pl.col("_purchased_in_period")).then(cost).otherwise(
            pl.lit(0, dtype=MONEY))
        return totals_by_currency(raw, bought, pl.col("currency"))

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        registered = raw.collect()
        rows = [row for asset in registered.iter_rows(named=True)
                for row in self._rows(asset)]  # one asset → at most two rows: tiny
        schema = {"BilledCost": MONEY, "EffectiveCost": MONEY, "ChargePeriodStart": UTC_TIME,
                  "ChargePeriodEnd": UTC_TIME, "BillingPeriodStart": UTC_TIME,
                  "BillingPeriodEnd": UTC_TIME}
        frame = pl.DataFrame(rows, schema_overrides=schema, infer_schema_length=None)
        return frame.lazy().with_columns(
            pl.col("BilledCost").alias("ContractedCost"), pl.col("BilledCost").alias("ListCost"),
            pl.col("EffectiveCost").alias("PricingCurrencyEffectiveCost"))

    def _rows(self, record: dict[str, object]) -> list[dict[str, object]]:
        period = BillingPeriod.parse(str(record["_period"]))
        asset = _asset(record, self.name, period)
        common = {
            "BillingAccountId": self.account, "BillingAccountName": self.account,
            "BillingAccountType": "Asset Register", "BillingCurrency": asset.currency,
            "BillingPeriodStart": period.start, "BillingPeriodEnd": period.end,
            "ChargePeriodEnd": period.end, "HostProviderName": self.provider,
            "InvoiceIssuerName": self.provider, "ProviderName": self.provider,
            "PublisherName": self.provider, "ServiceProviderName": self.provider,
            "ServiceCategory": self.category, "ServiceSubcategory": f"Other ({self.category})",
            "ServiceName": asset.description, "ResourceId": asset.asset_id,
            "ResourceName": asset.description, "ResourceType": "Asset",
            "PricingCurrency": asset.currency, "Tags": _tags(record),
            "x_provider_line_item_id": asset.asset_id,
        }
        rows = []
        if BillingPeriod.containing(asset.in_service) == period:
            rows.append({**common, "BilledCost": asset.cost, "EffectiveCost": Decimal(0),
                         "ChargeCategory": "Purchase", "ChargeFrequency": "One-Time",
                         "ChargePeriodStart": datetime.combine(asset.in_service, time(0), UTC),
                         "ChargeDescription": f"Purchase of {asset.description}",
                         "PricingCategory": "Standard", "x_line_item_type": "AssetPurchase"})
        amount = depreciation_schedule(asset).get(period)
        if amount is not None:
            start = max(period.start, datetime.combine(asset.in_service, time(0), UTC))
            rows.append({**common, "BilledCost": Decimal(0), "EffectiveCost": amount,
                         "ChargeCategory": "Usage", "ChargeFrequency": "Recurring",
                         "ChargePeriodStart": start,
                         "ChargeDescription": f"Depreciation of {asset.description} "
                                              f"({asset.useful_life_months} months, straight-line)",
                         "x_line_item_type": "Depreciation"})
        return rows


def _with_period(rows: pl.DataFrame, period: BillingPeriod) -> pl.DataFrame:
    """Keep the assets that have a row in `period` (bought in it, or depreciating in it)."""
    in_service = pl.col("in_service_date").cast(pl.String).str.to_date(strict=False)
    months = pl.col("useful_life_months").cast(pl.Int64, strict=False)
    ends = in_service.dt.offset_by(months.cast(pl.String) + "mo")
    active = (in_service < period.end.date()) & (ends >= period.first_day)
    return rows.filter(active.fill_null(True)).with_columns(
        pl.lit(str(period)).alias("_period"),
        (in_service.dt.strftime("%Y-%m") == str(period)).fill_null(False)
        .alias("_purchased_in_period"))


def _asset(record: dict[str, object], source: str, period: BillingPeriod) -> Asset:
    try:
        return Asset(
            asset_id=str(record["asset_id"]), description=str(record["description"]),
            cost=Decimal(str(record["cost"]).strip()), currency=str(record["currency"]).strip(),
            in_service=datetime.strptime(str(record["in_service_date"]).strip()[:10],
                                         "%Y-%m-%d").date(),
            useful_life_months=int(str(record["useful_life_months"])),
            salvage_value=Decimal(str(record.get("salvage_value") or 0).strip() or 0))
    except (ValueError, ArithmeticError) as error:
        raise DataError(source, period, f"asset `{record.get('asset_id')}`: {error}; expected "
                        "cost and salvage_value as numbers, in_service_date as YYYY-MM-DD, "
                        "useful_life_months as a whole number") from None


def _tags(record: dict[str, object]) -> str | None:
    extra = {k: v for k, v in record.items()
             if k not in (*REQUIRED, "salvage_value") and not k.startswith("_") and v not in (None, "")}
    frame = pl.DataFrame({k: [str(v)] for k, v in extra.items()})
    if not extra:
        return None
    fragment = [tags.fragment_from_column(k, k) for k in extra]
    value = frame.select(tags.tags_object(fragment)).item()
    return str(value) if value is not None else None
