"""`kind: focus` reads what providers ship: FOCUS 1.0 to 1.3 columns, `NULL` text, Microsoft's
FocusCost header (BOM, `x_` columns, an empty PublisherName), and refuses what FOCUS gives no way
to derive with the column and row. Rows are the FinOps Foundation's FOCUS 1.0 sample
(tests/samples/focus), re-laid in each version's columns."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from costalloc.connectors.focus_files import FocusFilesConnector
from costalloc.connectors.focus_versions import detect
from costalloc.core.errors import DataError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import load_partition

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SEPTEMBER = BillingPeriod(2024, 9)


def _sample() -> pl.DataFrame:
    return pl.read_csv(SAMPLES / "focus" / "1.0" / "focus_sample.csv", infer_schema=False)


def _load(warehouse: duckdb.DuckDBPyConnection, folder: Path, **options: str) -> int:
    connector = FocusFilesConnector(SourceSettings(name="focus", kind="focus", uri=str(folder),
                                                   options=options))
    return load_partition(warehouse, connector, SEPTEMBER, "r").rows


def _september_total() -> Decimal:
    rows = _sample().filter(pl.col("BillingPeriodStart").str.starts_with("2024-09"))
    return sum((Decimal(v).quantize(Decimal("1e-10")) for v in rows["BilledCost"]), Decimal(0))


def test_versions_are_told_by_their_columns() -> None:
    names = _sample().columns
    assert detect(names) == "1.0"
    assert detect([*names, "SkuMeter"]) == "1.1"
    assert detect([*names, "BillingAccountType"]) == "1.2"
    assert detect([*names, "ServiceProviderName"]) == "1.3"


def test_a_focus_1_3_file_without_the_deprecated_provider_columns_loads(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    # 1.3 renamed ProviderName to ServiceProviderName and deprecated PublisherName
    rows = _sample().rename({"ProviderName": "ServiceProviderName"}).drop("PublisherName")
    rows.write_csv(tmp_path / "focus_1_3.csv")
    assert _load(warehouse, tmp_path) == 999
    names = warehouse.sql("select distinct ProviderName, PublisherName, ServiceProviderName, "
                          "HostProviderName from line_items order by 1").fetchall()
    assert names == [(p, p, p, p) for p in ("AWS", "Microsoft", "Oracle")]
    total = warehouse.sql("select sum(BilledCost) from line_items").fetchall()[0][0]
    assert total == _september_total()


def test_null_text_is_null_and_derived_columns_are_filled(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    (tmp_path / "focus_sample.csv").write_bytes(
        (SAMPLES / "focus" / "1.0" / "focus_sample.csv").read_bytes())
    assert _load(warehouse, tmp_path, focus_version="1.0") == 999
    nulls = warehouse.sql(
        "select count(*) filter (ChargeClass = 'NULL'), count(*) filter (PricingCurrency is null),"
        " count(*) filter (ServiceSubcategory is null), count(*) filter (RegionId is not null "
        "and RegionName is null) from line_items").fetchall()[0]
    assert nulls == (0, 0, 0, 0)
    # the sample spells one frequency `Usage-based`; FOCUS's spelling is `Usage-Based`
    assert {r[0] for r in warehouse.sql("select distinct ChargeFrequency from line_items"
                                        ).fetchall()} <= {"Usage-Based", "One-Time", "Recurring"}


def test_a_microsoft_focus_cost_export_with_bom_x_columns_and_empty_publisher_loads(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    schema = json.loads((SAMPLES / "azure" / "finops-toolkit-schemas" / "focuscost_1.0.json"
                         ).read_text())
    header = [m["source"]["name"] for m in schema["translator"]["mappings"]]
    assert len(header) == 96 and any(name.startswith("x_") for name in header)
    microsoft = _sample().filter(pl.col("ProviderName") == "Microsoft")
    rows = microsoft.select(pl.col(name) if name in microsoft.columns
                            else pl.lit(None, dtype=pl.String).alias(name) for name in header)
    rows = rows.with_columns(pl.when(pl.int_range(pl.len()) < 4).then(None)
                             .otherwise(pl.col("PublisherName")).alias("PublisherName"))
    (tmp_path / "part_0_0001.csv").write_bytes(b"\xef\xbb\xbf" + rows.write_csv().encode())
    assert _load(warehouse, tmp_path) == microsoft.height
    assert warehouse.sql("select distinct PublisherName from line_items").fetchall() == [
        ("Microsoft",)]


def test_a_column_focus_cannot_derive_is_refused_with_its_row(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = _sample().with_columns(
        pl.when(pl.int_range(pl.len()).is_in([6, 9])).then(pl.lit("NULL"))
        .otherwise(pl.col("ServiceName")).alias("ServiceName"))
    rows.write_csv(tmp_path / "focus_sample.csv")
    with pytest.raises(DataError) as refused:
        _load(warehouse, tmp_path)
    assert "data row 7: column `ServiceName` is empty (2 row(s)" in str(refused.value)
    assert "previous load stays published" in str(refused.value)


def test_every_column_the_warehouse_requires_is_derived_or_refused(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    # empty in the file: PublisherName, InvoiceIssuerName, ServiceCategory, ContractedCost,
    # ListCost — derivable, so the rows load (no opaque NOT NULL failure in the warehouse)
    rows = _sample().with_columns(
        pl.lit("NULL").alias(name) for name in ("PublisherName", "InvoiceIssuerName",
                                                "ServiceCategory", "ContractedCost", "ListCost"))
    rows.write_csv(tmp_path / "focus_sample.csv")
    assert _load(warehouse, tmp_path) == 999
    derived = warehouse.sql(
        "select count(*) filter (PublisherName = ProviderName and InvoiceIssuerName = ProviderName"
        " and ServiceCategory = 'Other'), count(*) filter (ContractedCost is null or ListCost is "
        "null) from line_items").fetchall()[0]
    assert derived == (999, 0)
