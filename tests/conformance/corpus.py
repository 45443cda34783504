"""The conformance corpus: public exports nobody here wrote (`tests/samples`, provenance in its
README), each laid out the way its provider delivers it, loaded through the production loading
path, tied out to the file and exported for the FOCUS validator.

`load` is the one place a corpus file enters the warehouse (today `flows.loading.stage` then
`publish`, what `backfill` and `nightly` run), so the loading entry can change in one line.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.fs as pafs

from costalloc.connectors.aws.columns import is_checked_money, snake_case
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import LoadResult, load_partition
from costalloc.warehouse.lake import PartitionStore

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
Totals = dict[str, Decimal]
TEN_DECIMALS = Decimal("1e-10")


def load(con: duckdb.DuckDBPyConnection, source: SourceSettings, period: BillingPeriod,
         scratch: Path) -> LoadResult:
    """Load one (source, period) the way the flows do (`load_partition`: stage — read, check,
    normalize into Parquet parts — then publish: tie out, replace the partition in one
    transaction)."""
    store = PartitionStore(pafs.LocalFileSystem(), scratch.as_posix())
    return load_partition(con, source, period, "conformance", store=store)


@dataclass(frozen=True)
class CorpusFile:
    """One public sample: how to lay it out as a source and what its own totals are."""

    id: str
    provider: str
    format: str
    sample: str  # under tests/samples
    kind: str
    periods: tuple[BillingPeriod, ...]
    lay_out: Callable[[Path, Path], str]  # (sample, folder) → the source's uri
    totals: Callable[[Path], dict[BillingPeriod, Totals]]  # the file's own, per period
    tied: str = "BilledCost"  # the FOCUS column the file's cost column becomes
    options: dict[str, str] = field(default_factory=dict)
    derived: str = ""  # how a test-time file is made from the sample, when it is

    def source(self, folder: Path) -> SourceSettings:
        uri = self.lay_out(SAMPLES / self.sample, folder)
        return SourceSettings(name=self.id, kind=self.kind, uri=uri, options=self.options)


def csv_totals(cost: str, currency: str | None, period: Callable[[dict[str, str]], str],
               fixed_currency: str = "") -> Callable[[Path], dict[BillingPeriod, Totals]]:
    """Sum a CSV's cost column per period and currency with the csv module and Decimal: an
    account of the file that shares no code with the loader."""

    def totals(path: Path) -> dict[BillingPeriod, Totals]:
        sums: dict[BillingPeriod, Totals] = {}
        with path.open(encoding="utf-8-sig", newline="") as stream:
            for row in csv.DictReader(stream):
                text = (row.get(cost) or "").strip()
                if text in ("", "NULL"):
                    continue
                key = BillingPeriod.parse(period(row))
                code = (row[currency] if currency else fixed_currency).strip().upper()
                per = sums.setdefault(key, {})
                # money is DECIMAL(38, 10) from the edge: each amount is rounded to 10 decimals
                amount = Decimal(text).quantize(TEN_DECIMALS, rounding=ROUND_HALF_EVEN)
                per[code] = per.get(code, Decimal(0)) + amount
        return sums

    return totals


def _month(text: str) -> str:
    """`2024-09-01 00:00:00`, `2023-11-01T00:00:00.000Z` or `09/01/2023` → `2024-09`."""
    text = text.strip()
    if "/" in text:
        month, _, rest = text.partition("/")
        return f"{rest.rpartition('/')[2][:4]}-{int(month):02d}"
    return text[:7]


def plain_folder(sample: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample, folder / sample.name)
    return folder.as_posix()


def legacy_cur(period: BillingPeriod, *, parquet: bool) -> Callable[[Path, Path], str]:
    """A legacy CUR report folder: `<span>/<report>-Manifest.json` naming one assembly's file
    (the sample as AWS wrote it in CSV, or in AWS's Athena Parquet layout)."""

    def lay_out(sample: Path, folder: Path) -> str:
        report = folder / "report"
        span = f"{period.first_day:%Y%m%d}-{period.next().first_day:%Y%m%d}"
        assembly = report / span / "assembly-1"
        assembly.mkdir(parents=True)
        if parquet:
            name = "report-00001.snappy.parquet"
            athena_parquet(sample).write_parquet(assembly / name)
        else:
            name = sample.name
            shutil.copy(sample, assembly / name)
        manifest = {"assemblyId": "assembly-1", "reportKeys": [f"prefix/report/{span}/assembly-1/{name}"],
                    "billingPeriod": {"start": f"{period.first_day:%Y%m%d}T000000.000Z"}}
        (report / span / "report-Manifest.json").write_text(json.dumps(manifest))
        return report.as_posix()

    return lay_out


def athena_parquet(sample: Path) -> pl.DataFrame:
    """The CSV in AWS's Parquet layout for Athena: snake_case names, doubles for amounts,
    timestamps for dates (values unchanged)."""
    rows = pl.read_csv(sample, infer_schema=False)
    renamed = rows.rename({name: snake_case(name) for name in rows.columns})
    return renamed.with_columns(
        *(pl.col(name).cast(pl.Float64) for name in renamed.columns if is_checked_money(name)),
        *(pl.col(name).str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_zone="UTC")
          for name in renamed.columns if name.endswith("_date")),
    )


def cur2(period: BillingPeriod) -> Callable[[Path, Path], str]:
    """A CUR 2.0 (Data Exports) folder: `metadata/BILLING_PERIOD=…/<export>-Manifest.json` and
    one Parquet file with CUR 2.0's layout — product attributes in the `product` map except the
    few AWS keeps at the top level, tags in the `resource_tags` map."""

    def lay_out(sample: Path, folder: Path) -> str:
        export = folder / "export"
        data = export / "data" / f"BILLING_PERIOD={period}"
        data.mkdir(parents=True)
        flat = athena_parquet(sample)
        top = {"product_sku", "product_region_code", "product_servicecode",
               "product_product_family", "product_instance_type"}
        attributes = [c for c in flat.columns if c.startswith("product_") and c not in top]
        # CUR 2.0 names some product columns differently at the top level
        flat = flat.rename({"product_region": "product_region_code"}
                           if "product_region_code" not in flat.columns else {})
        attributes = [c for c in attributes if c in flat.columns]
        entries = pl.concat_list(
            pl.struct(pl.lit(c.removeprefix("product_")).alias("key"), pl.col(c).alias("value"))
            for c in attributes)
        product = entries.list.eval(pl.element().filter(pl.element().struct.field("value")
                                                        .is_not_null()))
        cur = flat.with_columns(
            product.cast(pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
            .alias("product"),
            pl.lit([], dtype=pl.List(pl.Struct({"key": pl.String, "value": pl.String})))
            .alias("resource_tags")).drop(attributes)
        cur.write_parquet(data / "export-00001.snappy.parquet")
        metadata = export / "metadata" / f"BILLING_PERIOD={period}"
        metadata.mkdir(parents=True)
        manifest = {"executionId": "execution-1",
                    "dataFiles": [f"s3://bucket/prefix/export/data/BILLING_PERIOD={period}/"
                                  "export-00001.snappy.parquet"]}
        (metadata / "export-Manifest.json").write_text(json.dumps(manifest))
        return export.as_posix()

    return lay_out


def azure_legacy_export(period: BillingPeriod) -> Callable[[Path, Path], str]:
    """A container with one legacy Cost Management export run:
    `<export>/<yyyyMMdd-yyyyMMdd>/<export>_<guid>.csv`, the sample byte for byte."""

    def lay_out(sample: Path, folder: Path) -> str:
        last = period.next().first_day.toordinal() - 1
        span = f"{period.first_day:%Y%m%d}-{datetime.fromordinal(last):%Y%m%d}"
        run = folder / "container" / "export" / span
        run.mkdir(parents=True)
        shutil.copy(sample, run / "export_00000000-0000-0000-0000-000000000001.csv")
        return (folder / "container").as_posix()

    return lay_out


SEPT_2023, NOV_2023 = BillingPeriod(2023, 9), BillingPeriod(2023, 11)
CUR_SAMPLE = "aws/legacy-cur-csv/sample-anonymous-aws-export-dataset.csv"
_CUR_TOTALS = csv_totals("lineItem/UnblendedCost", "lineItem/CurrencyCode",
                         lambda row: _month(row["bill/BillingPeriodStartDate"]))
_EA_TOTALS = csv_totals("Cost", "BillingCurrency",
                        lambda row: _month(row["BillingPeriodStartDate"]))

CORPUS: tuple[CorpusFile, ...] = (
    CorpusFile("focus-1-0-sample", "AWS, Microsoft, Oracle", "FOCUS 1.0 CSV (`NULL` text)",
               "focus/1.0/focus_sample.csv", "focus",
               (BillingPeriod(2024, 9), BillingPeriod(2024, 10)), plain_folder,
               csv_totals("BilledCost", "BillingCurrency",
                          lambda row: _month(row["BillingPeriodStart"]))),
    CorpusFile("aws-legacy-cur-csv", "AWS", "legacy CUR CSV (`lineItem/UnblendedCost`)",
               CUR_SAMPLE, "aws-cur", (NOV_2023,), legacy_cur(NOV_2023, parquet=False),
               _CUR_TOTALS),
    CorpusFile("aws-legacy-cur-parquet", "AWS", "legacy CUR Parquet (Athena snake_case)",
               CUR_SAMPLE, "aws-cur", (NOV_2023,), legacy_cur(NOV_2023, parquet=True),
               _CUR_TOTALS, derived="the CSV sample in AWS's Athena Parquet layout "
               "(`athena_parquet`): snake_case names, doubles, timestamps"),
    CorpusFile("aws-cur2-parquet", "AWS", "CUR 2.0 Parquet (`product` map)",
               CUR_SAMPLE, "aws-cur", (NOV_2023,), cur2(NOV_2023), _CUR_TOTALS,
               derived="the CSV sample in CUR 2.0's Parquet layout (`cur2`): product "
               "attributes in the `product` map"),
    CorpusFile("azure-ea-actual", "Microsoft", "EA ActualCost CSV (BOM, MM/dd/yyyy)",
               "azure/finops-toolkit-ea/EA_ActualCost_Small.csv", "azure-export", (SEPT_2023,),
               azure_legacy_export(SEPT_2023), _EA_TOTALS),
    CorpusFile("azure-ea-amortized", "Microsoft", "EA AmortizedCost CSV (BOM, MM/dd/yyyy)",
               "azure/finops-toolkit-ea/EA_AmortizedCost_Small.csv", "azure-export",
               (SEPT_2023,), azure_legacy_export(SEPT_2023), _EA_TOTALS, tied="EffectiveCost",
               options={"dataset": "AmortizedCost"}),
    CorpusFile("azure-ea-usage-details", "Microsoft", "EA usage details CSV (CAD, M/d/yyyy)",
               "azure/focus-converters-ea/sample-anonymous-ea-export-dataset.csv",
               "azure-export", (SEPT_2023,), azure_legacy_export(SEPT_2023),
               csv_totals("CostInBillingCurrency", "BillingCurrencyCode",
                          lambda row: _month(row["BillingPeriodStartDate"]))),
    CorpusFile("azure-ea-headers", "Microsoft", "EA CSV (PascalCase headers)",
               "azure/opencost-billingexports/headersets_Enterprise.csv", "azure-export",
               (BillingPeriod(2021, 5),), azure_legacy_export(BillingPeriod(2021, 5)),
               csv_totals("CostInBillingCurrency", "BillingCurrencyCode",
                          lambda row: _month(row["BillingPeriodStartDate"]))),
    CorpusFile("azure-mca", "Microsoft", "MCA CSV (camelCase headers)",
               "azure/opencost-billingexports/headersets_EnterpriseCamel.csv", "azure-export",
               (BillingPeriod(2021, 2),), azure_legacy_export(BillingPeriod(2021, 2)),
               csv_totals("costInBillingCurrency", "billingCurrency",
                          lambda row: _month(row["date"]))),
    CorpusFile("azure-payg", "Microsoft", "pay-as-you-go CSV (`PreTaxCost`)",
               "azure/opencost-billingexports/headersets_PayAsYouGo.csv", "azure-export",
               (BillingPeriod(2021, 2),), azure_legacy_export(BillingPeriod(2021, 2)),
               csv_totals("PreTaxCost", "Currency", lambda row: _month(row["UsageDateTime"]))),
    CorpusFile("azure-payg-german", "Microsoft", "pay-as-you-go CSV (German headers)",
               "azure/opencost-billingexports/headersets_German.csv", "azure-export",
               (BillingPeriod(2021, 2),), azure_legacy_export(BillingPeriod(2021, 2)),
               csv_totals("PreTaxCost (PreTaxCost)", "Currency",
                          lambda row: _month(row["UsageDateTime (UsageDateTime)"]))),
)
