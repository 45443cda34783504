"""The `line_items` contract: every column costalloc stores for a line item, in one table.

Each column carries its polars type (what connectors emit), its DuckDB type and nullability (what
`sql/schema/line_items.sql` declares: tests/core/test_focus.py proves the two agree column by
column), the FOCUS version that introduced it (None for costalloc's `x_` extensions) and what it
means. Columns are FOCUS 1.2 Cost and Usage, plus 1.3's `ServiceProviderName` /
`HostProviderName`, plus `x_` columns.

Money is DECIMAL(38, 10); quantities and unit prices are DECIMAL(38, 18) (see QUANTITY);
timestamps are UTC; `Tags`, `SkuPriceDetails` and the `x_` JSON columns are JSON object text.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from costalloc.core.confinement import shown
from costalloc.core.currencies import ISO_4217
from costalloc.core.period import BillingPeriod

MONEY = pl.Decimal(38, 10)
# Quantities and unit prices keep every digit the providers publish: AWS prices carry up to 10
# decimals (the price list's own precision), GCP prices are BigQuery NUMERIC (9 decimals) and
# its usage amounts FLOAT64 (~17 significant digits: 9.115e-09 GiB-months must not become
# 9.1e-09), Azure quantities and prices are .NET decimals written with up to 18 decimals.
# 18 decimals keep all of those; the 20 integer digits left hold any one row's quantity (a
# petabyte held for an hour is 4e18 byte-seconds).
QUANTITY = pl.Decimal(38, 18)
UNIT_PRICE = pl.Decimal(38, 18)
UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Kind:
    """A column type as polars holds it and as DuckDB reports it (`describe line_items`)."""

    polars: pl.DataType
    duckdb: str


_TEXT = Kind(pl.String(), "VARCHAR")
_JSON = Kind(pl.String(), "JSON")
_MONEY = Kind(MONEY, "DECIMAL(38,10)")
_QUANTITY = Kind(QUANTITY, "DECIMAL(38,18)")
_UNIT_PRICE = Kind(UNIT_PRICE, "DECIMAL(38,18)")
_TIME = Kind(UTC_TIME, "TIMESTAMP WITH TIME ZONE")
_ID = Kind(pl.Int64(), "BIGINT")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    focus: str | None  # the FOCUS version that introduced it; None for an `x_` extension
    meaning: str
    required: bool = False  # NOT NULL in `line_items`

    def __post_init__(self) -> None:
        if self.name.startswith("x_") != (self.focus is None):
            raise ValueError(f"`{self.name}`: FOCUS columns name their version, only `x_` "
                             "columns are costalloc's own")

    @property
    def dtype(self) -> pl.DataType:
        return self.kind.polars


LINE_ITEMS: tuple[Column, ...] = (
    Column("AvailabilityZone", _TEXT, "0.5", "the provider's zone within the region"),
    Column("BilledCost", _MONEY, "0.5", "what is invoiced for the row, in BillingCurrency",
           required=True),
    Column("BillingAccountId", _TEXT, "0.5", "the account the invoice is issued to", required=True),
    Column("BillingAccountName", _TEXT, "0.5", "that account's display name"),
    Column("BillingAccountType", _TEXT, "1.2", "the provider's name for that kind of account"),
    Column("BillingCurrency", _TEXT, "0.5", "ISO 4217 code of the invoice currency", required=True),
    Column("BillingPeriodEnd", _TIME, "0.5", "exclusive end of the billing period", required=True),
    Column("BillingPeriodStart", _TIME, "0.5", "start of the billing period", required=True),
    Column("CapacityReservationId", _TEXT, "1.1", "the capacity reservation the row used"),
    Column("CapacityReservationStatus", _TEXT, "1.1", "Used or Unused capacity reservation"),
    Column("ChargeCategory", _TEXT, "0.5", "Usage, Purchase, Tax, Credit or Adjustment",
           required=True),
    Column("ChargeClass", _TEXT, "1.0", "Correction when the row corrects an earlier period"),
    Column("ChargeDescription", _TEXT, "1.0", "the provider's words for the charge"),
    Column("ChargeFrequency", _TEXT, "1.0", "One-Time, Recurring or Usage-Based"),
    Column("ChargePeriodEnd", _TIME, "0.5", "exclusive end of the time the charge covers",
           required=True),
    Column("ChargePeriodStart", _TIME, "0.5", "start of the time the charge covers", required=True),
    Column("CommitmentDiscountCategory", _TEXT, "1.0", "Spend or Usage commitment"),
    Column("CommitmentDiscountId", _TEXT, "1.0", "the reservation or savings plan applied"),
    Column("CommitmentDiscountName", _TEXT, "1.0", "that commitment's display name"),
    Column("CommitmentDiscountQuantity", _QUANTITY, "1.1", "commitment consumed, in its unit"),
    Column("CommitmentDiscountStatus", _TEXT, "1.0", "Used or Unused commitment"),
    Column("CommitmentDiscountType", _TEXT, "1.0", "the provider's name for the commitment kind"),
    Column("CommitmentDiscountUnit", _TEXT, "1.1", "unit of CommitmentDiscountQuantity"),
    Column("ConsumedQuantity", _QUANTITY, "1.0", "how much was used, in ConsumedUnit"),
    Column("ConsumedUnit", _TEXT, "1.0", "unit of ConsumedQuantity"),
    Column("ContractedCost", _MONEY, "1.0", "cost at the negotiated unit price", required=True),
    Column("ContractedUnitPrice", _UNIT_PRICE, "1.0", "negotiated price per PricingUnit"),
    Column("EffectiveCost", _MONEY, "0.5", "amortized cost: purchases spread over their use",
           required=True),
    Column("HostProviderName", _TEXT, "1.3", "who hosts the resource"),
    Column("InvoiceId", _TEXT, "1.2", "the invoice the row is billed on"),
    Column("InvoiceIssuerName", _TEXT, "0.5", "who issues the invoice", required=True),
    Column("ListCost", _MONEY, "1.0", "cost at the public list price", required=True),
    Column("ListUnitPrice", _UNIT_PRICE, "1.0", "public list price per PricingUnit"),
    Column("PricingCategory", _TEXT, "1.0", "Standard, Dynamic, Committed or Other"),
    Column("PricingCurrency", _TEXT, "1.2", "ISO 4217 code the provider prices in"),
    Column("PricingCurrencyContractedUnitPrice", _UNIT_PRICE, "1.2",
           "negotiated unit price in PricingCurrency"),
    Column("PricingCurrencyEffectiveCost", _MONEY, "1.2", "EffectiveCost in PricingCurrency"),
    Column("PricingCurrencyListUnitPrice", _UNIT_PRICE, "1.2", "list unit price in PricingCurrency"),
    Column("PricingQuantity", _QUANTITY, "1.0", "how much was priced, in PricingUnit"),
    Column("PricingUnit", _TEXT, "1.0", "unit the price is quoted in"),
    Column("ProviderName", _TEXT, "0.5", "who makes the service available", required=True),
    Column("PublisherName", _TEXT, "0.5", "who produced the service", required=True),
    Column("RegionId", _TEXT, "1.0", "the provider's region code"),
    Column("RegionName", _TEXT, "1.0", "that region's display name"),
    Column("ResourceId", _TEXT, "0.5", "the provider's id of the resource"),
    Column("ResourceName", _TEXT, "0.5", "that resource's display name"),
    Column("ResourceType", _TEXT, "1.0", "the kind of resource"),
    Column("ServiceCategory", _TEXT, "0.5", "FOCUS's category of the service (Compute, Storage…)",
           required=True),
    Column("ServiceName", _TEXT, "0.5", "the provider's service name", required=True),
    Column("ServiceProviderName", _TEXT, "1.3", "who sells the service"),
    Column("ServiceSubcategory", _TEXT, "1.1", "FOCUS's subcategory within ServiceCategory"),
    Column("SkuId", _TEXT, "1.0", "the provider's product SKU"),
    Column("SkuMeter", _TEXT, "1.1", "what the SKU measures"),
    Column("SkuPriceDetails", _JSON, "1.1", "the SKU's price properties, a JSON object"),
    Column("SkuPriceId", _TEXT, "1.0", "the price (rate) of the SKU that applied"),
    Column("SubAccountId", _TEXT, "0.5", "the account, project or subscription used"),
    Column("SubAccountName", _TEXT, "0.5", "that sub-account's display name"),
    Column("SubAccountType", _TEXT, "1.2", "the provider's name for that kind of sub-account"),
    Column("Tags", _JSON, "1.0", "tags as a JSON object; provider keys prefixed, user keys bare"),
    # costalloc's own columns. `x_line_item_id` numbers the rows of one (source, period)
    # partition in delivery order, so allocation lineage can point at a line item exactly.
    Column("x_source", _TEXT, None, "the configured source the row was loaded from", required=True),
    Column("x_billing_period", _TEXT, None, "the partition's billing period, YYYY-MM",
           required=True),
    Column("x_line_item_id", _ID, None, "row number within the (source, period) partition",
           required=True),
    Column("x_source_file", _TEXT, None, "the delivery file the row came from", required=True),
    Column("x_ingest_run_id", _TEXT, None, "the load run that wrote the row", required=True),
    Column("x_provider_line_item_id", _TEXT, None, "the provider's own id for the row"),
    Column("x_line_item_type", _TEXT, None, "the provider's row kind (AWS line_item_type; assets)"),
    Column("x_service_code", _TEXT, None, "the provider's service code"),
    Column("x_usage_type", _TEXT, None, "the provider's usage type"),
    Column("x_operation", _TEXT, None, "the provider's operation"),
    Column("x_credits", _JSON, None, "GCP: the row's credits as JSON (type, name, id, amount)"),
    Column("x_credit_amount", _MONEY, None,
           "GCP: the credits' sum; BilledCost − x_credit_amount = the export's cost"),
    Column("x_adjustment_info", _JSON, None, "GCP: adjustment_info as JSON"),
    Column("x_export_time", _TIME, None, "GCP: export_time, to trace late-arriving rows"),
    Column("x_cost_dataset", _TEXT, None, "Azure: ActualCost, AmortizedCost or FocusCost"),
    Column("x_resource_group", _TEXT, None, "Azure: the resource group"),
    Column("x_meter_id", _TEXT, None, "Azure: the meter id"),
    Column("x_meter_category", _TEXT, None, "Azure: the meter category"),
    Column("x_pricing_model", _TEXT, None, "Azure: OnDemand, Reservation, SavingsPlan or Spot"),
    Column("x_billing_account_id", _TEXT, None,
           "Azure MCA: the billing account (BillingAccountId holds the billing profile)"),
    Column("x_invoice_section_id", _TEXT, None, "Azure MCA: the invoice section"),
    Column("x_invoice_section_name", _TEXT, None, "Azure MCA: the invoice section's name"),
    Column("x_cost_center", _TEXT, None, "Azure EA: the cost center set on the subscription"),
)

FOCUS_COLUMNS: dict[str, pl.DataType] = {c.name: c.dtype for c in LINE_ITEMS if c.focus}
PROJECT_COLUMNS: dict[str, pl.DataType] = {c.name: c.dtype for c in LINE_ITEMS if not c.focus}
LINE_ITEM_COLUMNS: dict[str, pl.DataType] = {c.name: c.dtype for c in LINE_ITEMS}
REQUIRED_COLUMNS = tuple(c.name for c in LINE_ITEMS if c.required)
MONEY_COLUMNS = tuple(c.name for c in LINE_ITEMS if c.focus and c.kind is _MONEY)

# `x_line_item_type` values for on-premises assets (connectors/assets); the CapEx policy treats
# them as capitalized, the asset register being the evidence.
ASSET_ROW_TYPES = ("AssetPurchase", "Depreciation")
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


@dataclass(frozen=True)
class RowProblem:
    """The first row of a frame that `line_items` would refuse, and why."""

    row: int  # 0-based within the frame
    column: str
    problem: str  # one phrase naming the column, e.g. "column `ServiceName` is empty; …"


def first_invalid_row(line_items: pl.DataFrame, period: BillingPeriod) -> RowProblem | None:
    """The first conformed row with a null in a NOT NULL column, a BillingCurrency that is not an
    ISO 4217 code, or a BillingPeriodStart other than `period`'s; within a row, the first
    failing check in column order. Pure: the loader turns the answer into its error."""
    checks = _checks(period)
    failing = pl.any_horizontal(test for _, test, _ in checks)
    first = line_items.select(failing.arg_true().first()).item()
    if first is None:
        return None
    row = line_items.slice(int(first), 1)
    for column, test, problem in checks:
        if row.select(test).item():
            found = shown(str(row.get_column(column)[0]))  # cut short, control characters escaped
            return RowProblem(int(first), column, problem.format(found=found))
    raise AssertionError("a row failed a check and then none")  # pragma: no cover


def _checks(period: BillingPeriod) -> list[tuple[str, pl.Expr, str]]:
    """(column, test that is true on a bad row, problem) in contract order."""
    checks: list[tuple[str, pl.Expr, str]] = []
    for column in LINE_ITEMS:
        if column.required:
            what = "empty or not a date" if column.kind is _TIME else "empty"
            who = "FOCUS" if column.focus else "costalloc"
            checks.append((column.name, pl.col(column.name).is_null(),
                           f"column `{column.name}` is {what}; {who} requires a value"))
        if column.name == "BillingCurrency":
            checks.append((column.name, ~pl.col(column.name).is_in(sorted(ISO_4217)),
                           "BillingCurrency is not an ISO 4217 code (found `{found}`)"))
        if column.name == "BillingPeriodStart":
            checks.append((column.name, pl.col(column.name) != period.start,
                           f"the row's billing period is not {period}"))
    return [(name, test.fill_null(False), problem) for name, test, problem in checks]
