"""Table mode against the BigQuery emulator: incremental by invoice month, exact, never doubled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow.compute as pc
import pytest
from google.cloud import bigquery

from costalloc.connectors.gcp import BigQueryExportConnector
from costalloc.core.errors import SourceError
from costalloc.core.period import BillingPeriod
from costalloc.demo.gcp_billing import GcpBillingMonth, create_export_table, generate_month, insert_rows
from costalloc.flows.loading import load_partition

OCTOBER = BillingPeriod(2026, 10)
NOVEMBER = BillingPeriod(2026, 11)
Source = Callable[..., BigQueryExportConnector]


@pytest.fixture(scope="module")
def month() -> GcpBillingMonth:
    return generate_month("2026-10", seed=7, rows=600, late_rows=60)


def emulator_totals(client: bigquery.Client, table: str, invoice_month: str) -> tuple[
        int, dict[str, Decimal]]:
    """Row count and SUM(cost) + SUM(credits) per currency, computed by BigQuery itself.

    Summed as integer micro units (the generator writes at most six decimals) because the
    emulator's NUMERIC keeps only three. Credits through a correlated subquery, as GCP advises.
    """
    sql = f"""
        select currency, count(*) as row_count,
               sum(cast(round(cost * 1000000) as int64)) as cost_micros,
               sum((select coalesce(sum(cast(round(c.amount * 1000000) as int64)), 0)
                    from unnest(credits) as c)) as credit_micros
        from `{table}` where invoice.month = @month group by currency"""
    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("month", "STRING", invoice_month)])
    rows = list(client.query(sql, job_config=config).result())
    count = sum(int(r["row_count"]) for r in rows)
    return count, {r["currency"]: (Decimal(r["cost_micros"]) + Decimal(r["credit_micros"]))
                   / 1_000_000 for r in rows}


def loaded(con: duckdb.DuckDBPyConnection, source: str, period: BillingPeriod) -> tuple[
        int, dict[str, Decimal]]:
    rows = con.sql("select BillingCurrency, count(*), sum(BilledCost) from line_items "
                   "where x_source = $s and x_billing_period = $p group by 1",
                   params={"s": source, "p": str(period)}).fetchall()
    return sum(int(r[1]) for r in rows), {str(r[0]): Decimal(r[2]) for r in rows}


def test_a_month_loads_exactly_what_bigquery_sums(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection, month: GcpBillingMonth) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, month.rows)

    result = load_partition(gcp_warehouse, table_source(table), OCTOBER, "run-1")

    in_bigquery = emulator_totals(bq_client, table, "202610")
    assert result.outcome == "loaded"
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == in_bigquery
    # ... and both agree with what the generator summed as integers
    assert in_bigquery == (month.expected_rows("202610"), month.expected_totals("202610"))
    assert result.rows == 666 and in_bigquery[1] == {"USD": Decimal("221.905465")}


def test_late_rows_are_picked_up_on_the_next_run_and_nothing_is_doubled(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection, month: GcpBillingMonth) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, month.first)
    source = table_source(table)
    first = load_partition(gcp_warehouse, source, OCTOBER, "night-1")
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == (
        600, month.expected_totals("202610", late=False))

    insert_rows(bq_client, table, month.late)  # later export_time: late usage, tax, rounding
    second = load_partition(gcp_warehouse, source, OCTOBER, "night-2")
    third = load_partition(gcp_warehouse, source, OCTOBER, "night-3")

    assert (first.outcome, second.outcome, third.outcome) == ("loaded", "loaded", "unchanged")
    assert first.fingerprint != second.fingerprint == third.fingerprint
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == (
        month.expected_rows("202610"), month.expected_totals("202610"))
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == emulator_totals(bq_client, table, "202610")
    taxes = gcp_warehouse.sql("select count(*) from line_items where ChargeCategory = 'Tax'").fetchall()
    assert taxes == [(5,)]  # one per project, arrived with the late rows, counted once


def test_a_month_that_did_not_move_costs_one_fingerprint_query_and_no_read(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection, month: GcpBillingMonth,
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, month.first)
    source = table_source(table)
    assert load_partition(gcp_warehouse, source, OCTOBER, "night-1").outcome == "loaded"

    queries: list[str] = []
    reads: list[object] = []
    real_query, real_read = bq_client.query, source.read

    def counting_query(sql: str, *args: Any, **kwargs: Any) -> bigquery.QueryJob:
        queries.append(sql)
        return real_query(sql, *args, **kwargs)

    def counting_read(delivery: Any) -> Any:
        reads.append(delivery)
        return real_read(delivery)

    monkeypatch.setattr(bq_client, "query", counting_query)
    monkeypatch.setattr(source, "read", counting_read)
    result = load_partition(gcp_warehouse, source, OCTOBER, "night-2")

    assert result.outcome == "unchanged"
    assert reads == []
    assert len(queries) == 1 and "count(*) as row_count" in queries[0]
    assert "select *" not in queries[0]


def test_a_row_with_three_credits_is_counted_once(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection, month: GcpBillingMonth) -> None:
    three = month.first.filter(pc.equal(pc.list_value_length(month.first["credits"]), 3))
    assert three.num_rows > 20
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, three)

    assert load_partition(gcp_warehouse, table_source(table), OCTOBER, "r").outcome == "loaded"

    cost = sum(Decimal(repr(c)) for c in three["cost"].to_pylist())
    credits = sum(Decimal(repr(c["amount"])) for row in three["credits"].to_pylist() for c in row)
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == (three.num_rows, {"USD": cost + credits})
    # the trap the connector avoids: JOIN UNNEST(credits) next to SUM(cost) triples the cost
    naive = next(iter(bq_client.query(
        f"select sum(cast(round(cost * 1000000) as int64)) from `{table}`, unnest(credits)"
    ).result()))[0]
    assert Decimal(naive) / 1_000_000 == 3 * cost


def test_an_adjustment_invoiced_next_month_lands_in_that_month(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection, month: GcpBillingMonth) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, month.rows)
    source = table_source(table)

    october = load_partition(gcp_warehouse, source, OCTOBER, "r")
    november = load_partition(gcp_warehouse, source, NOVEMBER, "r")
    december = load_partition(gcp_warehouse, source, BillingPeriod(2026, 12), "r")

    assert (october.outcome, november.outcome, december.outcome) == (
        "loaded", "loaded", "no-delivery")
    rows = gcp_warehouse.sql(
        "select x_billing_period, ChargeCategory, ChargeClass, BilledCost, BillingPeriodStart, "
        "ChargePeriodStart from line_items where ChargeCategory = 'Adjustment' "
        "and x_line_item_type = 'adjustment'").fetchall()
    assert rows == [("2026-11", "Adjustment", "Correction", Decimal("-12.34"),
                     datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 10, 14, tzinfo=UTC))]
    assert loaded(gcp_warehouse, "gcp-main", NOVEMBER) == (1, {"USD": Decimal("-12.34")})
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER)[1] == month.expected_totals("202610")


def test_rows_written_while_a_month_is_read_wait_for_the_next_run(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection, month: GcpBillingMonth,
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, month.first)
    source = table_source(table)
    fingerprint_then_export = source.find_delivery

    def late_rows_arrive_after_the_fingerprint(period: BillingPeriod) -> Any:
        delivery = fingerprint_then_export(period)
        insert_rows(bq_client, table, month.late)
        return delivery

    monkeypatch.setattr(source, "find_delivery", late_rows_arrive_after_the_fingerprint)
    during = load_partition(gcp_warehouse, source, OCTOBER, "night-1")
    monkeypatch.undo()
    after = load_partition(gcp_warehouse, source, OCTOBER, "night-2")

    assert during.outcome == after.outcome == "loaded"
    assert during.rows == 600  # what was fingerprinted, capped at its newest export_time
    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == (
        month.expected_rows("202610"), month.expected_totals("202610"))


def test_the_standard_export_table_loads_without_detailed_fields(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    standard = generate_month("2026-10", seed=3, rows=200, late_rows=0, detailed=False)
    assert "resource" not in standard.first.schema.names
    table = new_table()
    create_export_table(bq_client, table, detailed=False)
    insert_rows(bq_client, table, standard.rows)

    assert load_partition(gcp_warehouse, table_source(table), OCTOBER, "r").outcome == "loaded"

    assert loaded(gcp_warehouse, "gcp-main", OCTOBER) == (
        standard.expected_rows("202610"), standard.expected_totals("202610"))
    assert gcp_warehouse.sql("select count(ResourceId), count(ListUnitPrice), count(SubAccountId) "
                             "from line_items").fetchall() == [(0, 0, 205)]


def test_a_missing_table_is_a_source_error_naming_the_option(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    table = new_table()
    bq_client.create_dataset(table.rsplit(".", 1)[0])
    with pytest.raises(SourceError, match=r"gcp-main 2026-10: .*Check `options.table`"):
        load_partition(gcp_warehouse, table_source(table), OCTOBER, "r")
    assert gcp_warehouse.sql("select count(*) from line_items").fetchall() == [(0,)]


def test_an_empty_month_has_no_delivery(
        bq_client: bigquery.Client, new_table: Callable[[], str], table_source: Source,
        gcp_warehouse: duckdb.DuckDBPyConnection) -> None:
    table = new_table()
    create_export_table(bq_client, table)
    insert_rows(bq_client, table, generate_month("2026-09", rows=10, late_rows=0).first)
    assert load_partition(gcp_warehouse, table_source(table), OCTOBER, "r").outcome == "no-delivery"
