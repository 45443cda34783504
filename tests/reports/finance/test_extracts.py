"""CSV and Parquet extracts: the same tables as the workbook, one file per table and period,
Parquet Hive-partitioned, a column dictionary beside them, totals that round-trip exactly."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from costalloc.reports.finance.extracts import Format, export, export_period
from costalloc.reports.finance.tables import ALLOCATED_TABLES, COLUMN_MEANINGS
from tests.reports.builders import FORMULA_RESOURCE, OCTOBER, SEPTEMBER, totals

TABLES = ("allocated", "summary", "unallocated", "capex", "capex_schedule", "reconciliation")
EXACT = pl.Decimal(38, 10)


def _by_currency(frame: pl.DataFrame) -> dict[str, tuple[Decimal, Decimal]]:
    grouped = frame.group_by("BillingCurrency").agg(pl.col("BilledCost").sum(),
                                                    pl.col("EffectiveCost").sum())
    return {row[0]: (Decimal(row[1]), Decimal(row[2])) for row in grouped.iter_rows()}


def test_parquet_is_hive_partitioned_and_round_trips_every_total(
        published: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    for period in (SEPTEMBER, OCTOBER):
        extract = export_period(published, "allocated", period, "parquet", tmp_path)
        assert extract.main == tmp_path / "allocated" / f"x_billing_period={period}" / "part-0.parquet"
        assert [p.relative_to(tmp_path).parts[0] for p in extract.files[:-2]] == list(TABLES)
    for table in TABLES:
        partitions = sorted(p.name for p in (tmp_path / table).iterdir())
        assert partitions == ["x_billing_period=2026-09", "x_billing_period=2026-10"]

    allocated = pl.scan_parquet(tmp_path / "allocated", hive_partitioning=True).collect()
    assert allocated.schema["BilledCost"] == EXACT  # money stays exact
    for period in ("2026-09", "2026-10"):
        month = allocated.filter(pl.col("x_billing_period") == period)
        exact = totals(published, OCTOBER if period == "2026-10" else SEPTEMBER)
        assert _by_currency(month) == exact
        summary = pl.read_parquet(tmp_path / "summary" / f"x_billing_period={period}")
        assert _by_currency(summary) == exact
    reconciliation = pl.scan_parquet(tmp_path / "reconciliation", hive_partitioning=True).collect()
    assert set(reconciliation["x_status"]) == {"ties out"}
    assert (reconciliation["x_allocated_billed_cost"] == reconciliation["x_raw_export_total"]).all()
    unallocated = pl.read_parquet(tmp_path / "unallocated" / "x_billing_period=2026-10")
    assert unallocated["x_allocated_rows"].sum() == published.sql(
        "select count(*) from allocated_costs where x_billing_period = '2026-10' and "
        "'unallocated' in (environment, workstream, cost_type)").fetchall()[0][0]


def test_csv_round_trips_into_polars_with_the_same_totals(
        published: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = export(published, "allocated", OCTOBER, "csv", tmp_path)
    assert path == tmp_path / "allocated_2026-10.csv"
    money = {"BilledCost": EXACT, "EffectiveCost": EXACT}
    allocated = pl.read_csv(path, schema_overrides=money, infer_schema_length=None)
    assert allocated.height == published.sql("select count(*) from allocated_costs where "
                                             "x_billing_period = '2026-10'").fetchall()[0][0]
    assert _by_currency(allocated) == totals(published, OCTOBER)
    summary = pl.read_csv(tmp_path / "summary_2026-10.csv", schema_overrides=money,
                          infer_schema_length=None)
    assert _by_currency(summary) == totals(published, OCTOBER)
    for table in TABLES:
        assert (tmp_path / f"{table}_2026-10.csv").stat().st_size > 0
    # Text a spreadsheet would run as a formula is neutralized; nothing else changes.
    resources = set(allocated["ResourceId"].drop_nulls())
    assert "'" + FORMULA_RESOURCE in resources and FORMULA_RESOURCE not in resources


def test_the_column_dictionary_lists_every_column_with_its_type_and_meaning(
        published: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    extract = export_period(published, "allocated", OCTOBER, "csv", tmp_path)
    assert extract.files[-2:] == (tmp_path / "allocated_columns.csv",
                                  tmp_path / "allocated_columns.md")
    with (tmp_path / "allocated_columns.csv").open() as stream:
        entries = list(csv.DictReader(stream))
    for table in ALLOCATED_TABLES:
        header = pl.read_csv(tmp_path / f"{table.name}_2026-10.csv", n_rows=0).columns
        listed = [e["column"] for e in entries if e["table"] == table.name]
        assert listed == header
    for entry in entries:
        assert entry["type"] and entry["meaning"]
        # Every column of the finance tables is explained here, not by a generic fallback.
        assert entry["column"] in COLUMN_MEANINGS, entry
    assert {e["type"] for e in entries if e["column"] == "BilledCost"} == {"DECIMAL(38,10)"}
    markdown = (tmp_path / "allocated_columns.md").read_text()
    assert "## capex_schedule" in markdown and "| `x_net_book_value` |" in markdown


def test_a_difference_anywhere_shows_in_the_reconciliation(warehouse_file: Path,
                                                           tmp_path: Path) -> None:
    con = duckdb.connect(str(warehouse_file))
    con.execute("""update ingest_log set raw_totals = json_object('USD', '1.00')
                   where source = 'aws' and billing_period = '2026-10'""")
    con.execute("""delete from allocated_costs where rowid = (
                   select min(rowid) from allocated_costs
                   where x_billing_period = '2026-10' and x_source = 'aws'
                     and BillingCurrency = 'EUR' and BilledCost <> 0)""")
    con.close()
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        export_period(con, "allocated", OCTOBER, "parquet", tmp_path)
    finally:
        con.close()
    rows = {(r["x_source"], r["BillingCurrency"]): r for r in pl.read_parquet(
        tmp_path / "reconciliation").to_dicts()}
    usd, eur = rows[("aws", "USD")], rows[("aws", "EUR")]
    assert usd["x_status"] == eur["x_status"] == "differs"
    assert usd["x_differences"].startswith("line_items BilledCost − raw export total = ")
    # EUR fell out of the raw totals: the export said nothing was billed in EUR.
    assert eur["x_raw_export_total"] == 0
    assert eur["x_differences"].startswith("line_items BilledCost − raw export total = ")
    assert "allocated BilledCost − line_items BilledCost = -" in eur["x_differences"]
    assert rows[("on-prem", "USD")]["x_status"] == "ties out"


def test_line_items_extract_keeps_its_path(published: duckdb.DuckDBPyConnection,
                                           tmp_path: Path) -> None:
    path = export(published, "line-items", OCTOBER, "parquet", tmp_path)
    assert path == tmp_path / "line_items" / "x_billing_period=2026-10" / "part-0.parquet"
    line_items = pl.read_parquet(path)
    assert line_items.height == published.sql("select count(*) from line_items where "
                                               "x_billing_period = '2026-10'").fetchall()[0][0]
    assert (tmp_path / "line_items_columns.md").exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_empty_period_still_writes_every_table_with_its_header(
        published: duckdb.DuckDBPyConnection, tmp_path: Path, fmt: Format) -> None:
    from costalloc.core.period import BillingPeriod

    extract = export_period(published, "allocated", BillingPeriod(2025, 1), fmt, tmp_path)
    for path in extract.files[:-2]:
        frame = pl.read_csv(path) if fmt == "csv" else pl.read_parquet(path)
        assert frame.height == 0 and frame.width > 0


def test_only_text_a_spreadsheet_would_evaluate_is_quoted() -> None:
    import pyarrow as pa

    from costalloc.reports.finance.csv_text import csv_chunks

    batch = pa.record_batch({
        "text": ["=1+1", "+cmd", "-x", "@SUM(A1)", "\tTab", "plain", "a=b", None],
        "amount": [Decimal("-1.5")] * 8,
    })
    written = b"".join(csv_chunks([batch], batch.schema)).decode()
    frame = pl.read_csv(io.StringIO(written), schema_overrides={"amount": EXACT})
    assert frame["text"].to_list() == ["'=1+1", "'+cmd", "'-x", "'@SUM(A1)", "'\tTab", "plain",
                                       "a=b", None]
    assert frame["amount"].to_list() == [Decimal("-1.5")] * 8  # numbers are left alone
