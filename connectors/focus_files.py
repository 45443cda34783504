"""`kind: focus` — FOCUS files any provider exports (AWS `FOCUS_1_2_AWS`, Azure FocusCost,
GCP's FOCUS export, the FinOps Foundation's sample data), FOCUS 1.0 to 1.3, CSV or Parquet, in a
folder or under an `s3://` prefix.

Files in `BILLING_PERIOD=YYYY-MM` (or `billing_period=`) folders are read only for their
period; other files are read for every period and filtered on `BillingPeriodStart`. The
fingerprint is a hash of the files' names, sizes and modification times.

What the reader does with what providers actually ship (docs/conformance.md has the list):
- the version comes from the columns (`focus_versions.detect`) or the `focus_version` option;
  renamed and deprecated columns are mapped both ways (`focus_versions`);
- the text `NULL` (as the FOCUS sample data writes it) is a null, in every column;
- a UTF-8 byte order mark and provider `x_` columns are ignored;
- columns a version lacks are filled where FOCUS defines them from others: `PricingCurrency` is
  the `BillingCurrency` and the `PricingCurrency*` amounts equal their billing-currency
  counterparts; an empty `PublisherName` or `InvoiceIssuerName` is the `ProviderName`, an empty
  `ServiceCategory` FOCUS's catch-all `Other`; an empty `ContractedCost` or `ListCost` is unit
  price × pricing quantity when both are given, else the `BilledCost` (FOCUS's rule for charges
  priced on their own);
- units are brought to FOCUS Unit Format (`connectors.units`), and what FOCUS 1.2 defines from
  a row's own columns is made consistent (`focus_consistency`): enumeration spellings, account
  types and names, region names, resource types, quantities FOCUS says are null; one
  ServiceCategory per ServiceName (the delivery's most frequent, a first pass over two columns);
- a row still missing a column the warehouse cannot hold without (`REQUIRED`) is refused with
  the column, the first row and how many rows; so is a row whose `BillingPeriodStart` is
  empty, not a time, or not the first instant of a month (no period's load would hold it);
  the previous load stays published.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal

import polars as pl
import pyarrow.fs as pafs
from pydantic import Field, field_validator

from costalloc.connectors import focus_versions, tags
from costalloc.connectors.delivery import Delivery, RawBatch
from costalloc.connectors.derived_cost import LIMIT, QUANTITY_COLUMN, first_underivable, product
from costalloc.connectors.files import is_data_file, stream_file
from costalloc.connectors.focus_consistency import consistent
from costalloc.connectors.money import decimal, money, totals_by_currency
from costalloc.connectors.options import ObjectStoreOptions
from costalloc.connectors.storage import Location, open_location, storage_errors
from costalloc.connectors.timestamps import utc_time
from costalloc.connectors.units import focus_unit
from costalloc.core.errors import DataError, SourceError
from costalloc.core.focus import FOCUS_COLUMNS, MONEY, conform
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

_PERIOD_FOLDER = re.compile(r"(?i)billing_period=(\d{4}-\d{2})")
_NUMERIC = [name for name, dtype in FOCUS_COLUMNS.items() if isinstance(dtype, pl.Decimal)]
_QUANTITIES = [name for name in _NUMERIC if FOCUS_COLUMNS[name] != MONEY]  # DECIMAL(38, 18)
NULL_TEXT = "NULL"
# What a line item cannot be stored without, after every derivation above.
REQUIRED = ("BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodStart",
            "BillingPeriodEnd", "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
            "EffectiveCost", "ProviderName", "ServiceName")


class FocusOptions(ObjectStoreOptions):
    """The `options:` of a focus source."""

    focus_version: focus_versions.Version | None = Field(
        default=None, description="the files' FOCUS version (1.0, 1.1, 1.2 or 1.3); default: "
                                  "detected from their columns")

    @field_validator("focus_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value  # YAML reads 1.0 as a number


class FocusFilesConnector:
    """`kind: focus`."""

    def __init__(self, settings: SourceSettings, location: Location | None = None) -> None:
        self.name = settings.name
        options = FocusOptions.of(settings)
        self.version: focus_versions.Version | None = options.focus_version
        self.location = location or open_location(settings.uri, options.storage())

    def find_delivery(self, period: BillingPeriod) -> Delivery | None:
        """The period's files; None when the folder has none for it. A folder that does not
        exist is an error, never "no delivery yet"."""
        with storage_errors(self.name, period, f"listing {self.location.uri}", self.location):
            files = [f for f in self.location.list_files() if is_data_file(f.path)]
            missing = None if files else self.location.missing()
        if missing is not None:
            raise SourceError(self.name, period,
                              f"{missing}; it should hold the FOCUS export's CSV or Parquet files. "
                              "Check the source's `uri`; nothing was loaded")
        chosen = [f for f in files if _belongs(f, period)]
        if not chosen:
            return None
        digest = hashlib.sha256()
        for info in chosen:
            digest.update(f"{info.path}|{info.size}|{info.mtime_ns}\n".encode())
        root = self.location.root.rstrip("/") + "/"
        return Delivery(self.name, period, digest.hexdigest()[:16],
                        tuple(f.path.removeprefix(root) for f in chosen))

    def read(self, delivery: Delivery) -> Iterator[RawBatch]:
        start = delivery.period.start
        categories = self._service_categories(delivery)
        for file in delivery.files:
            for first_row, rows in stream_file(self.location.filesystem, self.location.path(file),
                                               source=self.name, period=delivery.period):
                rows = _one_category_per_service(without_null_text(rows), categories)
                starts = rows.select(utc_time("BillingPeriodStart", rows.schema)).to_series()
                _check_period_known(starts, delivery, file, first_row)
                in_period = rows.with_row_index("_row").filter(starts == start)
                if in_period.height:
                    _check_derivable(in_period, delivery, file, first_row)
                    _check_required(self.to_focus(in_period.lazy()), in_period, delivery, file,
                                    first_row)
                    yield RawBatch(file, first_row, in_period.drop("_row"))

    def _service_categories(self, delivery: Delivery) -> dict[str, str]:
        """First pass over two columns: each ServiceName's most frequent ServiceCategory in the
        delivery (FOCUS: one per ServiceName). Memory is one count per (name, category)."""
        counts: dict[tuple[str, str], int] = {}
        for file in delivery.files:
            for _, rows in stream_file(self.location.filesystem, self.location.path(file),
                                       source=self.name, period=delivery.period,
                                       columns=_service_columns):
                if set(_SERVICE) <= set(rows.columns):
                    pairs = without_null_text(rows).drop_nulls(list(_SERVICE)).group_by(
                        list(_SERVICE)).len()
                    for name, category, count in pairs.iter_rows():
                        counts[(name, category)] = counts.get((name, category), 0) + count
        chosen: dict[str, tuple[int, str]] = {}
        for (name, category), count in sorted(counts.items()):
            if name not in chosen or count > chosen[name][0]:
                chosen[name] = (count, category)
        return {name: category for name, (_, category) in chosen.items()}

    def money_columns(self, raw: pl.DataFrame) -> list[str]:
        return [c for c in _NUMERIC if c in raw.columns]

    def quantity_columns(self, raw: pl.DataFrame) -> list[str]:
        return [c for c in _QUANTITIES if c in raw.columns]

    def control_totals(self, raw: pl.DataFrame) -> dict[str, Decimal]:
        return totals_by_currency(raw, money("BilledCost", raw.schema), pl.col("BillingCurrency"))

    def to_focus(self, raw: pl.LazyFrame) -> pl.LazyFrame:
        schema = raw.collect_schema()
        names = list(schema.names())
        version = self.version or focus_versions.detect(names)
        renamed = {old: new for old, new in focus_versions.OLD_SPELLINGS.items()
                   if old in names and new not in names}
        if renamed:
            raw, schema = raw.rename(renamed), pl.Schema(
                {renamed.get(name, name): dtype for name, dtype in schema.items()})
        focus = raw.select(_typed(name, schema) for name in FOCUS_COLUMNS if name in schema)
        complete = conform(_derived(focus, version)).select(list(FOCUS_COLUMNS))
        return consistent(complete, set(schema.names()))


_SERVICE = ("ServiceName", "ServiceCategory")


def _service_columns(names: list[str]) -> list[str]:
    return list(_SERVICE) if set(_SERVICE) <= set(names) else names[:1]


def _one_category_per_service(rows: pl.DataFrame, categories: dict[str, str]) -> pl.DataFrame:
    if not categories or not set(_SERVICE) <= set(rows.columns):
        return rows
    chosen = pl.col("ServiceName").replace_strict(categories, default=None,
                                                  return_dtype=pl.String)
    return rows.with_columns(pl.coalesce(chosen, pl.col("ServiceCategory")).alias("ServiceCategory"))


def without_null_text(rows: pl.DataFrame) -> pl.DataFrame:
    """The text `NULL` (how the FOCUS sample data and some SQL dumps write a null) as a null."""
    text = [name for name, dtype in rows.schema.items() if dtype == pl.String]
    return rows.with_columns(pl.when(pl.col(name).str.strip_chars() != NULL_TEXT)
                             .then(pl.col(name)).alias(name) for name in text)


def _typed(name: str, schema: pl.Schema) -> pl.Expr:
    dtype = FOCUS_COLUMNS[name]
    if isinstance(dtype, pl.Decimal):
        return decimal(name, schema, dtype).alias(name)
    if isinstance(dtype, pl.Datetime):
        return utc_time(name, schema).alias(name)
    if name in ("Tags", "SkuPriceDetails") and tags.is_map(schema[name]):
        members = tags.fragment_from_entries(tags.entries(name, schema[name]))
        return tags.tags_object([members]).alias(name)
    if isinstance(schema[name], pl.Struct):
        return pl.col(name).struct.json_encode().alias(name)
    text = pl.col(name).cast(pl.String)
    return pl.when(text.str.strip_chars() != "").then(text).alias(name)


def _derived(focus: pl.LazyFrame, version: focus_versions.Version) -> pl.LazyFrame:
    """Columns FOCUS defines from others, filled where the file leaves them out or empty."""
    present = set(focus.collect_schema().names())

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in present else pl.lit(None, dtype=FOCUS_COLUMNS[name])

    provider = pl.coalesce(col("ProviderName"), col("ServiceProviderName"))
    same_currency = pl.coalesce(col("PricingCurrency"), col("BillingCurrency"))
    billed = col("BilledCost")
    filled = {
        "ProviderName": provider,
        "ServiceProviderName": pl.coalesce(col("ServiceProviderName"), provider),
        "HostProviderName": pl.coalesce(col("HostProviderName"), provider),
        "PublisherName": pl.coalesce(col("PublisherName"), provider),
        "InvoiceIssuerName": pl.coalesce(col("InvoiceIssuerName"), provider),
        "PricingCurrency": same_currency,
        "ServiceCategory": pl.coalesce(col("ServiceCategory"), pl.lit("Other")),
        "ContractedCost": pl.coalesce(
            col("ContractedCost"), product(col("ContractedUnitPrice"), col("PricingQuantity")),
            billed),
        "ListCost": pl.coalesce(
            col("ListCost"), product(col("ListUnitPrice"), col("PricingQuantity")), billed),
    }
    filled.update({name: focus_unit(pl.col(name), "any") for name in ("ConsumedUnit", "PricingUnit")
                   if name in present})
    if version in ("1.0", "1.1"):
        # before 1.2 every price was in the billing currency: the pricing-currency amounts 1.2
        # added are their billing-currency counterparts (a 1.2+ file's nulls are its own)
        for name, source in (("PricingCurrencyEffectiveCost", "EffectiveCost"),
                             ("PricingCurrencyContractedUnitPrice", "ContractedUnitPrice"),
                             ("PricingCurrencyListUnitPrice", "ListUnitPrice")):
            filled[name] = pl.coalesce(col(name), col(source))
    return focus.with_columns(value.alias(name) for name, value in filled.items())


def _check_period_known(starts: pl.Series, delivery: Delivery, file: str,
                        first_row: int) -> None:
    """A row is loaded with the period its BillingPeriodStart names; a row whose start is
    missing, not a time, or not the first instant of a month belongs to no period's load, so
    it is refused rather than left out of every one."""
    unknown = starts.is_null() | (starts != starts.dt.truncate("1mo"))
    count = int(unknown.sum())
    if not count:
        return
    index = int(unknown.arg_true()[0])
    found = starts[index]
    what = ("is empty or not a date" if found is None else
            f"is {found:%Y-%m-%d %H:%M:%S}, not the first instant of a month")
    raise DataError(delivery.source, delivery.period,
                    f"`{file}` data row {first_row + index}: column `BillingPeriodStart` {what} "
                    f"({count} row(s) of this batch), so the row's billing period is unknown; "
                    "the previous load stays published")


def _check_derivable(rows: pl.DataFrame, delivery: Delivery, file: str, first_row: int) -> None:
    underivable = first_underivable(rows)
    if underivable is None:
        return
    raise DataError(delivery.source, delivery.period,
                    f"`{file}` data row {first_row + int(rows['_row'][underivable.row])}: column "
                    f"`{underivable.cost}` is empty and `{underivable.price}` × "
                    f"`{QUANTITY_COLUMN}` is {LIMIT:.0e} or more, beyond any cost this reader "
                    "derives; the previous load stays published")


def _check_required(focus: pl.LazyFrame, rows: pl.DataFrame, delivery: Delivery, file: str,
                    first_row: int) -> None:
    """Refuse a batch with a row still missing a column the warehouse needs: name the column,
    the first such data row of the file and how many rows."""
    present = set(focus.collect_schema().names())
    missing = {name: (pl.col(name).is_null() if name in present else pl.lit(True))
               for name in REQUIRED}
    flags = focus.select(**missing).collect()
    for name in REQUIRED:
        bad = flags.get_column(name)
        count = int(bad.sum())
        if count:
            row = first_row + int(rows.get_column("_row")[int(bad.arg_true()[0])])
            raise DataError(delivery.source, delivery.period,
                            f"`{file}` data row {row}: column `{name}` is empty "
                            f"({count} row(s) of this batch), and FOCUS gives no way to derive "
                            "it; the previous load stays published")


def _belongs(info: pafs.FileInfo, period: BillingPeriod) -> bool:
    match = _PERIOD_FOLDER.search(info.path)
    return match is None or match.group(1) == str(period)
