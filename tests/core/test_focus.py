"""The `line_items` contract: the DDL agrees with it column by column, and the row check finds the
first row `line_items` would refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from costalloc.core.focus import (
    FOCUS_COLUMNS,
    LINE_ITEM_COLUMNS,
    LINE_ITEMS,
    PROJECT_COLUMNS,
    QUANTITY,
    REQUIRED_COLUMNS,
    Column,
    conform,
    first_invalid_row,
)
from costalloc.core.period import BillingPeriod
from costalloc.sql import load

OCTOBER = BillingPeriod(2026, 10)


def _declared(table: str, *after: str) -> list[tuple[str, str, bool]]:
    """(name, DuckDB type, NOT NULL) of `table` as its `sql/schema` file creates it (after the
    tables `after` it reads, for a view)."""
    con = duckdb.connect()
    for name in (*after, table):
        con.execute(load(f"schema/{name}"))
    return [(name, dtype, nullable == "NO") for name, dtype, nullable in con.sql(
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_name = $t order by ordinal_position", params={"t": table}).fetchall()]


def test_the_line_items_ddl_is_the_contract_column_by_column() -> None:
    contract = [(c.name, c.kind.duckdb, c.required) for c in LINE_ITEMS]
    assert _declared("line_items") == contract


def test_allocated_costs_repeats_line_item_columns_with_the_same_types() -> None:
    # allocated_costs is narrow: of the line item it keeps the key and the load it was allocated
    # from, the currency and the amounts (as allocated); the same columns must not drift apart
    # (a quantity there keeps its digits like the line items').
    contract = {c.name: c.kind.duckdb for c in LINE_ITEMS}
    allocated = {name: dtype for name, dtype, _ in _declared("allocated_costs")}
    shared = allocated.keys() & contract.keys()
    assert shared == {"x_source", "x_billing_period", "x_line_item_id", "x_ingest_run_id",
                      "BillingCurrency", "BilledCost", "EffectiveCost", "ListCost"}
    assert {name: allocated[name] for name in shared} == {name: contract[name] for name in shared}
    assert allocated["x_driver_quantity"] == contract["ConsumedQuantity"] == "DECIMAL(38,18)"


def test_allocated_line_items_reads_line_item_columns_with_the_contracts_types() -> None:
    # the readers' view: the narrow table's columns and the line item's attributes, joined
    contract = {c.name: c.kind.duckdb for c in LINE_ITEMS}
    view = {name: dtype for name, dtype, _ in _declared(
        "allocated_line_items", "line_items", "allocated_costs")}
    shared = view.keys() & contract.keys()
    assert len(shared) == 19 and {"ProviderName", "ChargePeriodStart", "Tags"} <= shared
    assert {name: view[name] for name in shared} == {name: contract[name] for name in shared}


def test_money_keeps_ten_decimals_and_quantities_and_unit_prices_eighteen() -> None:
    types = {c.name: c.kind.duckdb for c in LINE_ITEMS}
    assert {types[n] for n in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
                               "PricingCurrencyEffectiveCost", "x_credit_amount")} == {
        "DECIMAL(38,10)"}
    assert {types[n] for n in ("ConsumedQuantity", "PricingQuantity", "CommitmentDiscountQuantity",
                               "ListUnitPrice", "ContractedUnitPrice",
                               "PricingCurrencyListUnitPrice",
                               "PricingCurrencyContractedUnitPrice")} == {"DECIMAL(38,18)"}


def test_focus_columns_name_their_version_and_x_columns_are_costallocs() -> None:
    assert list(LINE_ITEM_COLUMNS) == list(FOCUS_COLUMNS) + list(PROJECT_COLUMNS)
    assert all(not name.startswith("x_") for name in FOCUS_COLUMNS)
    assert all(name.startswith("x_") for name in PROJECT_COLUMNS)
    introduced = {c.name: c.focus for c in LINE_ITEMS}
    assert (introduced["BilledCost"], introduced["InvoiceId"], introduced["HostProviderName"],
            introduced["x_source"]) == ("0.5", "1.2", "1.3", None)
    assert all(c.meaning for c in LINE_ITEMS)
    with pytest.raises(ValueError, match="only `x_` columns"):
        Column("x_mine", LINE_ITEMS[0].kind, "1.2", "declared as FOCUS by mistake")


def _rows(count: int, **overrides: list[Any]) -> pl.DataFrame:
    """`count` FOCUS rows of October that `line_items` accepts, with column overrides."""
    rows: dict[str, Any] = {
        "BilledCost": ["1.25"] * count, "EffectiveCost": ["1.25"] * count,
        "ListCost": ["1.5"] * count, "ContractedCost": ["1.25"] * count,
        "BillingAccountId": ["0123"] * count, "BillingCurrency": ["USD"] * count,
        "BillingPeriodStart": [OCTOBER.start] * count, "BillingPeriodEnd": [OCTOBER.end] * count,
        "ChargeCategory": ["Usage"] * count,
        "ChargePeriodStart": [datetime(2026, 10, 5, tzinfo=UTC)] * count,
        "ChargePeriodEnd": [datetime(2026, 10, 6, tzinfo=UTC)] * count,
        "InvoiceIssuerName": ["Google"] * count, "ProviderName": ["Google"] * count,
        "PublisherName": ["Google"] * count, "ServiceCategory": ["Compute"] * count,
        "ServiceName": ["Compute Engine"] * count,
        "x_source": ["gcp"] * count, "x_billing_period": ["2026-10"] * count,
        "x_line_item_id": list(range(1, count + 1)), "x_source_file": ["part-0.parquet"] * count,
        "x_ingest_run_id": ["run-1"] * count,
    }
    return pl.DataFrame(rows | overrides).lazy().pipe(conform).collect()


def test_rows_that_fill_every_required_column_pass() -> None:
    assert first_invalid_row(_rows(5), OCTOBER) is None
    assert set(REQUIRED_COLUMNS) == {c for c in _rows(1).columns if _rows(1)[c].null_count() == 0}


@pytest.mark.parametrize(("column", "phrase"), [
    ("InvoiceIssuerName", "column `InvoiceIssuerName` is empty; FOCUS requires a value"),
    ("ServiceCategory", "column `ServiceCategory` is empty; FOCUS requires a value"),
    ("ChargePeriodEnd", "column `ChargePeriodEnd` is empty or not a date; FOCUS requires a value"),
    ("PublisherName", "column `PublisherName` is empty; FOCUS requires a value"),
    ("x_source_file", "column `x_source_file` is empty; costalloc requires a value"),
])
def test_a_null_in_any_not_null_column_is_found_at_its_first_row(column: str, phrase: str) -> None:
    values = _rows(6)[column].to_list()
    values[3] = values[5] = None
    bad = first_invalid_row(_rows(6, **{column: values}), OCTOBER)
    assert bad is not None and (bad.row, bad.column, bad.problem) == (3, column, phrase)


def test_every_not_null_column_is_checked() -> None:
    # The check is derived from the contract: a null in each of the 21 NOT NULL columns is found.
    assert len(REQUIRED_COLUMNS) == 21
    for column in REQUIRED_COLUMNS:
        bad = first_invalid_row(_rows(2, **{column: [_rows(1)[column][0], None]}), OCTOBER)
        assert bad is not None and (bad.row, bad.column) == (1, column)


def test_the_first_bad_row_wins_and_within_it_the_first_column_in_contract_order() -> None:
    frame = _rows(4, ServiceName=["EC2", "EC2", None, None],
                  BillingCurrency=["USD", "USD", "USD", "USX"],
                  InvoiceIssuerName=["AWS", "AWS", None, "AWS"])
    bad = first_invalid_row(frame, OCTOBER)
    assert bad is not None and (bad.row, bad.column) == (2, "InvoiceIssuerName")


def test_currency_and_billing_period_are_checked_with_what_was_found() -> None:
    currency = first_invalid_row(_rows(3, BillingCurrency=["USD", "usd", "EUR"]), OCTOBER)
    assert currency is not None and (currency.row, currency.problem) == (
        1, "BillingCurrency is not an ISO 4217 code (found `usd`)")
    september = BillingPeriod(2026, 9).start
    period = first_invalid_row(
        _rows(3, BillingPeriodStart=[OCTOBER.start, OCTOBER.start, september]), OCTOBER)
    assert period is not None and (period.row, period.column, period.problem) == (
        2, "BillingPeriodStart", "the row's billing period is not 2026-10")


def test_quantities_keep_eighteen_decimals_through_conform() -> None:
    frame = _rows(1, PricingQuantity=["0.000000009115"], ConsumedQuantity=["0.123456789012345678"])
    assert frame.schema["PricingQuantity"] == QUANTITY
    assert [frame[c][0] for c in ("PricingQuantity", "ConsumedQuantity")] == [
        Decimal("9.115E-9"), Decimal("0.123456789012345678")]


def test_the_contract_table_in_the_docs_is_the_contract() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "warehouse.md").read_text()
    table = doc.split("<!-- contract:begin -->\n")[1].split("<!-- contract:end -->")[0]
    rows = [f"| `{c.name}` | {c.kind.duckdb} | {'NOT NULL' if c.required else ''} | "
            f"{c.focus or '`x_`'} | {c.meaning} |" for c in LINE_ITEMS]
    expected = "| column | DuckDB type | | FOCUS | meaning |\n|---|---|---|---|---|\n"
    assert table.strip() == expected + "\n".join(rows), (
        "docs/warehouse.md's contract table differs from core/focus.py; its rows should read:\n"
        + "\n".join(rows))
