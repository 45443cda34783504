"""The GCP month generator: deterministic, realistic where the connector needs it, exact totals."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from costalloc.demo.gcp_billing import arrow_schema, export_schema, generate_month


def frame(table: object) -> pl.DataFrame:
    result = pl.from_arrow(table)  # type: ignore[arg-type]
    assert isinstance(result, pl.DataFrame)
    return result


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows() -> None:
    a, b = generate_month(seed=7, rows=300, late_rows=30), generate_month(seed=7, rows=300, late_rows=30)
    c = generate_month(seed=8, rows=300, late_rows=30)
    assert a.first.equals(b.first) and a.late.equals(b.late)
    assert not a.first.equals(c.first)


def test_rows_have_the_export_schema_in_bigquery_and_arrow_alike() -> None:
    month = generate_month(rows=50, late_rows=5)
    assert month.first.schema == arrow_schema()
    assert [f.name for f in export_schema()] == arrow_schema().names
    standard = {f.name for f in export_schema(detailed=False)}
    assert {"resource", "price", "subscription"}.isdisjoint(standard)
    assert {"credits", "labels", "tags", "invoice", "cost_at_list"} <= standard


def test_the_month_has_what_the_connector_must_handle() -> None:
    month = generate_month(rows=2_000, late_rows=200)
    first, late = frame(month.first), frame(month.late)
    credit_types = set(first["credits"].explode().struct.field("type").drop_nulls())
    assert {"COMMITTED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE",
            "SUSTAINED_USAGE_DISCOUNT", "PROMOTION", "FREE_TIER", "DISCOUNT"} <= credit_types
    assert first["credits"].list.len().max() == 3
    label_keys = set(first["labels"].explode().struct.field("key").drop_nulls())
    assert {"Env", "environment", "workstream", "team", "Team"} <= label_keys
    assert first["project"].struct.field("id").n_unique() == 5
    # late rows really are later, and carry the month-end rows
    assert late["export_time"].min() > first["export_time"].max()
    assert late["cost_type"].value_counts().sort("cost_type").rows() == [
        ("adjustment", 1), ("regular", 200), ("rounding error", 1), ("tax", 5)]
    adjustment = late.filter(pl.col("cost_type") == "adjustment")
    assert adjustment["invoice"].struct.field("month").to_list() == ["202611"]


def test_expected_totals_are_the_exact_sum_of_the_written_floats() -> None:
    month = generate_month(rows=500, late_rows=50)
    rows = frame(month.rows)
    in_month = rows.filter(pl.col("invoice").struct.field("month") == "202610")
    cost = sum((Decimal(repr(c)) for c in in_month["cost"].to_list()), Decimal(0))
    credits = sum((Decimal(repr(c["amount"])) for r in in_month["credits"].to_list() for c in r),
                  Decimal(0))
    assert month.expected_totals("202610") == {"USD": cost + credits}
    assert month.expected_rows("202610") == in_month.height == 556  # usage, 5 tax rows, 1 rounding error
    assert all(Decimal(repr(c)) == Decimal(repr(c)).quantize(Decimal("0.000001"))
               for c in rows["cost"].to_list())
