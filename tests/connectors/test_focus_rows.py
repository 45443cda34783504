"""FOCUS files through the loader: a row missing a NOT NULL column FOCUS gives no way to derive
fails the load with one paragraph naming the file, row and column (derivable ones are filled);
quantities keep every digit of the file."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costalloc.connectors.focus_files import FocusFilesConnector
from costalloc.core.errors import DataError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect

OCTOBER = BillingPeriod(2026, 10)
ROW = {
    "BilledCost": "0.0000001234", "EffectiveCost": "0.0000001234", "ListCost": "0.0000001234",
    "ContractedCost": "0.0000001234", "BillingAccountId": "01A2B3", "BillingCurrency": "USD",
    "BillingPeriodStart": "2026-10-01T00:00:00Z", "BillingPeriodEnd": "2026-11-01T00:00:00Z",
    "ChargeCategory": "Usage", "ChargePeriodStart": "2026-10-05T03:00:00Z",
    "ChargePeriodEnd": "2026-10-05T04:00:00Z", "InvoiceIssuerName": "Google",
    "ProviderName": "Google", "PublisherName": "Google", "ServiceCategory": "Storage",
    "ServiceName": "Cloud Storage", "PricingQuantity": "0.000000009115",
    "ConsumedQuantity": "26275000", "ListUnitPrice": "0.000000035000000015",
}


def _load(tmp_path: Path, rows: list[dict[str, str]]) -> duckdb.DuckDBPyConnection:
    folder = tmp_path / "focus"
    folder.mkdir()
    with (folder / "focus-2026-10.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    con = connect(tmp_path / "w.duckdb")
    source = FocusFilesConnector(SourceSettings(name="focus-src", kind="focus", uri=str(folder)))
    try:
        load_partition(con, source, OCTOBER, "run-1")
    except BaseException:
        con.close()
        raise
    return con


def test_quantities_and_unit_prices_keep_every_digit_of_the_file(tmp_path: Path) -> None:
    con = _load(tmp_path, [ROW])
    assert con.sql("select PricingQuantity, ConsumedQuantity, ListUnitPrice, BilledCost "
                   "from line_items").fetchall() == [
        (Decimal("0.000000009115"), Decimal("26275000"), Decimal("0.000000035000000015"),
         Decimal("0.0000001234"))]


@pytest.mark.parametrize("column", ["BillingAccountId", "ChargeCategory", "ChargePeriodEnd"])
def test_a_row_without_a_column_focus_cannot_derive_fails_the_load_naming_row_and_column(
        tmp_path: Path, column: str) -> None:
    with pytest.raises(DataError) as failure:
        _load(tmp_path, [ROW, ROW, ROW | {column: ""}, ROW | {column: ""}])
    assert str(failure.value) == (
        f"focus-src 2026-10: `focus-2026-10.csv` data row 3: column `{column}` is empty (2 row(s) "
        "of this batch), and FOCUS gives no way to derive it; the previous load stays published")
    assert con_rows(tmp_path) == 0  # nothing published


@pytest.mark.parametrize(("column", "derived"), [("InvoiceIssuerName", "Google"),
                                                 ("ServiceCategory", "Other")])
def test_a_not_null_column_the_spec_lets_us_derive_is_filled(tmp_path: Path, column: str,
                                                            derived: str) -> None:
    """InvoiceIssuerName from ProviderName; ServiceCategory `Other` (docs/conformance.md)."""
    con = _load(tmp_path, [ROW | {column: ""}])
    assert con.sql(f'select "{column}" from line_items').fetchall() == [(derived,)]


def test_a_file_without_a_column_focus_cannot_derive_fails_at_its_first_row(
        tmp_path: Path) -> None:
    without = {name: value for name, value in ROW.items() if name != "ChargeCategory"}
    with pytest.raises(DataError, match=r"data row 1: column `ChargeCategory` is empty"):
        _load(tmp_path, [without])


def con_rows(tmp_path: Path) -> int:
    con = connect(tmp_path / "w.duckdb", read_only=True)
    try:
        count: int = con.sql("select count(*) from line_items").fetchall()[0][0]
    finally:
        con.close()
    return count
