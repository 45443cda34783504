"""Schema versions: a warehouse made by an earlier release opens under this code with its data
intact, at the current version and with the current tables, column for column."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costalloc.core.errors import WarehouseSchemaError
from costalloc.flows.cli import main
from costalloc.sql import migration_scripts
from costalloc.warehouse.connection import connect
from costalloc.warehouse.migrations import (
    bring_to_current,
    current_version,
    parse_migrations,
    recorded_version,
    shipped_migrations,
)

SCHEMA_V1 = Path(__file__).parent / "fixtures" / "schema_v1"
# Tables whose rows a migration keeps as they were (allocated_costs is compared apart: version 4
# moved its line-item attributes to the view allocated_line_items).
TABLES = ("line_items", "ingest_log", "allocation_log", "partition_locks", "budget_breaches")

# Rows as version 1 stored them: the GCP usage of 9.115e-09 GiB-months was already cut to
# 9.1e-09 then (DECIMAL(38, 10)); a migration cannot bring lost digits back, it keeps the rest.
_LINE_ITEMS_V1 = """
insert into line_items (BilledCost, BillingAccountId, BillingCurrency, BillingPeriodEnd,
    BillingPeriodStart, ChargeCategory, ChargePeriodEnd, ChargePeriodStart, ContractedCost,
    EffectiveCost, InvoiceIssuerName, ListCost, ProviderName, PublisherName, ServiceCategory,
    ServiceName, x_source, x_billing_period, x_line_item_id, x_source_file, x_ingest_run_id,
    ConsumedQuantity, PricingQuantity, ListUnitPrice, ContractedUnitPrice, Tags)
values
    (0.0000001234, '01A2B3', 'USD', '2026-11-01 00:00:00+00', '2026-10-01 00:00:00+00', 'Usage',
     '2026-10-05 04:00:00+00', '2026-10-05 03:00:00+00', 0.0000001234, 0.0000001234, 'Google',
     0.0000001234, 'Google', 'Google', 'Storage', 'Cloud Storage', 'gcp', '2026-10', 1,
     '000000000000.parquet', 'run-1', 24580.5, 0.0000000091, 0.026, 0.0235, '{"env": "prod"}'),
    (1234567.8912345678, '01A2B3', 'EUR', '2026-11-01 00:00:00+00', '2026-10-01 00:00:00+00',
     'Purchase', '2026-11-01 00:00:00+00', '2026-10-01 00:00:00+00', 1234567.8912345678,
     0, 'Google', 1234567.8912345678, 'Google', 'Google', 'Compute', 'Compute Engine', 'gcp',
     '2026-10', 2, '000000000000.parquet', 'run-1', null, 1, 1234567.8912345678,
     1234567.8912345678, null)
"""
# Line item 1 split in two, as allocated from the line items above (the wide table copied their
# attributes); line item 2 as allocated from an earlier load of the partition, whose row 2 was
# another line item (another service): a later load replaced it before the period was allocated
# again.
_ALLOCATED_V1 = """
insert into allocated_costs (x_source, x_billing_period, x_line_item_id, ProviderName,
    BillingAccountId, ServiceCategory, ServiceName, ChargeCategory, ChargePeriodStart,
    BillingCurrency, BilledCost, EffectiveCost, ListCost, Tags, environment, workstream,
    cost_type, x_dimensions, x_split_rule, x_split_method, x_split_ratio, x_driver_quantity,
    x_rules_version, x_allocation_run_id, x_allocated_at)
values
    ('gcp', '2026-10', 1, 'Google', '01A2B3', 'Storage', 'Cloud Storage', 'Usage',
     '2026-10-05 03:00:00+00', 'USD', 0.0000000617, 0.0000000617, 0.0000000617,
     '{"env": "prod"}', 'production', 'platform_build', 'OpEx', '{"environment": "production"}',
     'by-tokens', 'usage', 0.5, 1250.0000000001, 'v1', 'a-1', '2026-11-02 03:00:00+00'),
    ('gcp', '2026-10', 1, 'Google', '01A2B3', 'Storage', 'Cloud Storage', 'Usage',
     '2026-10-05 03:00:00+00', 'USD', 0.0000000617, 0.0000000617, 0.0000000617,
     '{"env": "prod"}', 'production', 'experimentation', 'OpEx', '{"environment": "production"}',
     'by-tokens', 'usage', 0.5, 1250.0000000001, 'v1', 'a-1', '2026-11-02 03:00:00+00'),
    ('gcp', '2026-10', 2, 'Google', '01A2B3', 'Compute', 'Cloud SQL', 'Purchase',
     '2026-10-01 00:00:00+00', 'EUR', 99, 0, 99, null, 'unallocated', 'unallocated', 'OpEx',
     '{"environment": "unallocated"}', null, null, 1, null, 'v0', 'a-0',
     '2026-10-20 03:00:00+00')
"""
# What version 4 keeps of an allocated row, beside the load it was allocated from.
_NARROW = ("x_source, x_billing_period, x_line_item_id, BillingCurrency, BilledCost, "
           "EffectiveCost, ListCost, environment, workstream, cost_type, x_dimensions, "
           "x_environment_rule, x_workstream_rule, x_cost_type_rule, x_split_rule, "
           "x_split_method, x_split_basis, x_split_ratio, x_driver_quantity, x_capex_project, "
           "x_capex_phase, x_capex_approval, x_useful_life_months, AllocatedMethodId, "
           "AllocatedMethodDetails, x_rules_version, x_allocation_run_id, x_allocated_at")
_INGEST_LOG_V1 = """
insert into ingest_log values ('run-1', 'gcp', '2026-10', 'fp-1', 'loaded',
    '["000000000000.parquet"]', 2, '{"USD": "0.0000001234"}', '{"USD": "0.0000001234"}', null,
    '2026-11-02 02:00:00+00', '2026-11-02 02:01:00+00')
"""


def _version_1_warehouse(path: Path) -> Path:
    """A warehouse as the release before schema versions left it, with a few rows."""
    con = duckdb.connect(str(path))
    for file in sorted(SCHEMA_V1.glob("*.sql")):
        con.execute(file.read_text())
    for insert in (_LINE_ITEMS_V1, _ALLOCATED_V1, _INGEST_LOG_V1):
        con.execute(insert)
    con.close()
    return path


def _contents(con: duckdb.DuckDBPyConnection,
              columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table; with `columns`, only those columns of each table (the ones a
    version 1 warehouse had)."""
    def listed(table: str) -> str:
        return ", ".join(f'"{c}"' for c in columns[table]) if columns else "*"
    return {table: con.sql(f"select {listed(table)} from {table} order by all").fetchall()
            for table in TABLES}


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    return {table: _columns_of(con, table) for table in TABLES}


def _columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.sql(f"describe {table}").fetchall()]


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """Every column of every table and view (type, nullability, position), every constraint and
    every view's definition."""
    columns = con.sql("select table_name, ordinal_position, column_name, data_type, is_nullable "
                      "from information_schema.columns order by all").fetchall()
    constraints = con.sql("select table_name, constraint_type, constraint_column_names "
                          "from duckdb_constraints() order by all").fetchall()
    views = con.sql("select view_name, sql from duckdb_views() where not internal "
                    "order by all").fetchall()
    return columns + constraints + views


def test_a_version_1_warehouse_opens_with_its_data_intact_and_the_current_tables(
        tmp_path: Path) -> None:
    path = _version_1_warehouse(tmp_path / "old.duckdb")
    before = duckdb.connect(str(path))
    rows_before = _contents(before)
    columns_before = _columns(before)
    wide_before = before.sql("select * from allocated_costs order by all").fetchall()
    narrow_before = before.sql(f"select {_NARROW} from allocated_costs order by all").fetchall()
    before.close()

    con = connect(path)
    assert con.sql("select version, name from schema_version order by 1").fetchall() == [
        (2, "precise_quantities"), (3, "ingest_log_duplicates"), (4, "narrow_allocated_costs")]
    assert recorded_version(con) == current_version() == 4
    assert _contents(con, columns_before) == rows_before  # every value, to the last digit
    assert con.sql("select count(*) from ingest_log where duplicate_rows is null").fetchall() == [
        (1,)]  # a column added later reads null ("not checked") on rows loaded before it
    assert [len(rows) for rows in rows_before.values()] == [2, 1, 0, 0, 0]
    fresh = connect(tmp_path / "new.duckdb")
    assert _tables(con) == _tables(fresh)

    # version 4: the allocated rows read through allocated_line_items exactly as the wide table
    # held them, column for column; what allocated_costs keeps of every row is intact
    view = con.sql("select * from allocated_line_items order by all").fetchall()
    assert view[:2] == [row for row in wide_before if row[2] == 1]
    assert con.sql(f"select {_NARROW} from allocated_costs order by all").fetchall() == (
        narrow_before)
    # the row allocated from a replaced line item keeps its amounts and lineage but shows no
    # attributes (its id now names another line item) until the period is allocated again
    assert con.sql("select x_line_item_id, x_ingest_run_id, BilledCost from allocated_costs "
                   "order by all").fetchall() == [
        (1, "run-1", Decimal("0.0000000617")), (1, "run-1", Decimal("0.0000000617")),
        (2, "(replaced)", Decimal("99"))]
    stale = dict(zip(_columns_of(con, "allocated_line_items"), view[2], strict=True))
    assert (stale["x_line_item_id"], stale["BilledCost"], stale["x_rules_version"]) == (
        2, Decimal("99"), "v0")
    assert stale["ServiceName"] is None and stale["ChargePeriodStart"] is None

    # the migrated columns now keep what version 1 cut off
    con.execute("update line_items set PricingQuantity = 9.115e-09 where x_line_item_id = 1")
    con.execute("update allocated_costs set x_driver_quantity = 1250.000000000000000001")
    assert con.sql("select PricingQuantity from line_items where x_line_item_id = 1").fetchall() == [
        (Decimal("9.115E-9"),)]
    assert {r[0] for r in con.sql("select x_driver_quantity from allocated_costs").fetchall()} == {
        Decimal("1250.000000000000000001")}


def test_a_new_warehouse_is_created_at_the_current_version(tmp_path: Path) -> None:
    con = connect(tmp_path / "new.duckdb")
    assert con.sql("select version, name from schema_version").fetchall() == [(4, "created")]
    con.close()
    assert recorded_version(connect(tmp_path / "new.duckdb", read_only=True)) == 4


def test_a_read_only_open_of_an_older_warehouse_says_how_to_migrate_and_changes_nothing(
        tmp_path: Path) -> None:
    path = _version_1_warehouse(tmp_path / "old.duckdb")
    with pytest.raises(WarehouseSchemaError, match=r"is at schema version 1 and this costalloc "
                       r"reads version 4: run `costalloc migrate`.*nothing was changed"):
        connect(path, read_only=True)
    con = duckdb.connect(str(path), read_only=True)
    assert recorded_version(con) == 1
    assert con.sql("select data_type from information_schema.columns where column_name = "
                   "'PricingQuantity'").fetchall() == [("DECIMAL(38,10)",)]


def test_a_warehouse_newer_than_the_code_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.duckdb"
    connect(path).close()
    con = duckdb.connect(str(path))
    con.execute("insert into schema_version values (7, 'from_the_future', now(), '9.0.0')")
    con.close()
    for read_only in (False, True):
        with pytest.raises(WarehouseSchemaError, match=r"at schema version 7, written by a newer "
                           r"costalloc; this one \(.*\) knows versions up to 4\. Upgrade"):
            connect(path, read_only=read_only)
    assert recorded_version(duckdb.connect(str(path), read_only=True)) == 7


def test_a_migration_that_adds_a_column_runs_after_the_shipped_ones(tmp_path: Path) -> None:
    # How the next migration will look: a folder sql/migrations/0005_<name>/ of statements.
    migrations = parse_migrations(migration_scripts() | {"0005_ingest_note": [
        ("01_ingest_log_note.sql", "alter table ingest_log add column note VARCHAR")]})
    con = duckdb.connect(str(_version_1_warehouse(tmp_path / "old.duckdb")))
    applied = bring_to_current(con, "old.duckdb", migrations)
    assert [m.version for m in applied] == [2, 3, 4, 5]
    assert con.sql("select version from schema_version order by 1").fetchall() == [
        (2,), (3,), (4,), (5,)]
    assert con.sql("select run_id, note from ingest_log").fetchall() == [("run-1", None)]
    assert bring_to_current(con, "old.duckdb", migrations) == []  # already there
    con.close()
    with pytest.raises(WarehouseSchemaError, match="at schema version 5, written by a newer"):
        connect(tmp_path / "old.duckdb")


def test_a_failed_migration_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    connect(tmp_path / "w.duckdb").close()
    migrations = parse_migrations(migration_scripts() | {"0005_broken": [
        ("01_add.sql", "alter table ingest_log add column note VARCHAR"),
        ("02_fails.sql", "alter table no_such_table add column other VARCHAR")]})
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(WarehouseSchemaError, match=r"migration 0005_broken failed: 02_fails\.sql: "
                       r".*no_such_table.*The warehouse is unchanged \(at schema version 4\)"):
        bring_to_current(con, "w.duckdb", migrations)
    assert recorded_version(con) == 4
    assert "note" not in [r[0] for r in con.sql("describe ingest_log").fetchall()]


def test_connections_opened_at_once_migrate_once(tmp_path: Path) -> None:
    path = _version_1_warehouse(tmp_path / "old.duckdb")
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            connect(path).close()
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert duckdb.connect(str(path)).sql(
        "select version from schema_version order by 1").fetchall() == [(2,), (3,), (4,)]


def test_the_shipped_migrations_are_versions_2_onwards_one_statement_per_file() -> None:
    assert [(m.version, m.name, len(m.statements)) for m in shipped_migrations()] == [
        (2, "precise_quantities", 8), (3, "ingest_log_duplicates", 1),
        (4, "narrow_allocated_costs", 4)]


@pytest.mark.parametrize(("scripts", "problem"), [
    ({"2_short": [("01_a.sql", "select 1")]}, "named NNNN_name"),
    ({"0002_ok": [("a.sql", "select 1")]}, "named NN_name.sql"),
    ({"0002_ok": [("01_two.sql", "select 1; select 2")]}, "holds 2 statements, not one"),
    ({"0002_ok": []}, "holds no .sql file"),
    ({"0002_a": [("01_a.sql", "select 1")], "0004_b": [("01_b.sql", "select 1")]},
     r"versions \[2, 4\] should be \[2, 3\]"),
])
def test_malformed_migrations_are_refused(scripts: dict[str, list[tuple[str, str]]],
                                          problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_migrations(scripts)


def test_costalloc_migrate_brings_the_configured_warehouse_forward(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _version_1_warehouse(tmp_path / "old.duckdb")
    (tmp_path / "costalloc.yaml").write_text("warehouse: old.duckdb\n")
    config = str(tmp_path / "costalloc.yaml")
    assert main(["--config", config, "summary", "--period", "2026-10"]) == 1
    assert "run `costalloc migrate`" in capsys.readouterr().err
    assert main(["--config", config, "migrate"]) == 0
    assert capsys.readouterr().out == (f"warehouse `{tmp_path / 'old.duckdb'}` is at schema "
                                       "version 4\n")
