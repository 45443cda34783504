"""Configuration, the SQL that reaches BigQuery, fingerprints and error mapping — no emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from google.api_core import exceptions as google_errors
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from costalloc.connectors.gcp import BigQueryExportConnector, queries
from costalloc.connectors.gcp.batches import bounded
from costalloc.connectors.gcp.errors import bigquery_errors, translate
from costalloc.connectors.gcp.export_files import open_dump
from costalloc.connectors.gcp.fingerprint import MonthFingerprint
from costalloc.core.errors import ConfigurationError, SourceError, TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings

TABLE = "my-billing-project.billing_export.gcp_billing_export_resource_v1_01A2B3_C4D5E6_F7A8B9"
OCTOBER = BillingPeriod(2026, 10)


def connector(uri: str = "", **options: object) -> BigQueryExportConnector:
    return BigQueryExportConnector(SourceSettings(name="gcp-main", kind="gcp-bigquery", uri=uri,
                                                  options=dict(options)))


@pytest.mark.parametrize("table", [
    TABLE,
    "example.com:billing-prj.exports.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9",
    "test-project.billing_2026.my_view",
])
def test_plain_table_ids_are_accepted(table: str) -> None:
    assert connector(table=table).config.table == table


@pytest.mark.parametrize("table", [
    "p-roject.d.t` where true; drop table x --",
    "my-billing-project.billing_export.gcp_billing_export_*",
    "billing_export.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9",
    "my-billing-project.billing export.t",
    "My-Project.d.t",
    "my-billing-project.d.t.extra",
])
def test_anything_else_is_refused_before_any_query(table: str) -> None:
    with pytest.raises(ValidationError, match=r"source `gcp-main` \(gcp-bigquery\): option `table`"):
        connector(table=table)


def test_exactly_one_of_table_and_uri() -> None:
    with pytest.raises(ConfigurationError, match="not neither"):
        connector()
    with pytest.raises(ConfigurationError, match="not both"):
        connector(uri="/tmp/dump", table=TABLE)


def test_unknown_options_are_named_with_the_allowed_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown option `tabel`\. gcp-bigquery accepts "
                       r"`batch_rows`, .*`table`"):
        connector(tabel=TABLE)


def test_the_billing_project_defaults_to_the_tables() -> None:
    assert connector(table=TABLE).config.billing_project == "my-billing-project"
    assert connector(table=TABLE, project="ops-prj").config.billing_project == "ops-prj"


def test_queries_carry_values_as_parameters_and_the_table_as_an_identifier() -> None:
    floor = datetime(2026, 9, 24, tzinfo=UTC)
    fingerprint = queries.fingerprint_query(TABLE, OCTOBER, partition_floor=floor)
    assert f"from `{TABLE}`" in fingerprint.sql
    assert "202610" not in fingerprint.sql
    assert "(_PARTITIONTIME >= @partition_floor or _PARTITIONTIME is null)" in fingerprint.sql
    assert "join" not in fingerprint.sql.lower()  # credits via a correlated subquery
    assert {(p.name, p.type_, p.value) for p in fingerprint.parameters} == {
        ("invoice_month", "STRING", "202610"), ("partition_floor", "TIMESTAMP", floor)}

    ceiling = datetime(2026, 11, 2, 5, tzinfo=UTC)
    rows = queries.rows_query(TABLE, OCTOBER, partition_floor=None, export_time_ceiling=ceiling)
    assert "_PARTITIONTIME" not in rows.sql
    assert {(p.name, p.value) for p in rows.parameters} == {
        ("invoice_month", "202610"), ("export_time_ceiling", ceiling)}
    with pytest.raises(ValueError, match="refusing"):
        queries.fingerprint_query("p.d.t`; drop", OCTOBER, partition_floor=None)


def test_the_partition_floor_is_the_month_start_minus_the_lookback() -> None:
    assert queries.partition_floor(OCTOBER, 7) == datetime(2026, 9, 24, tzinfo=UTC)


def test_a_fingerprint_moves_with_every_part_and_only_then() -> None:
    when = datetime(2026, 11, 2, 5, tzinfo=UTC)
    base = MonthFingerprint.of(10, when, Decimal("12.5"), Decimal("-1.25"), 3)
    assert base.digest == MonthFingerprint.of(10, when, Decimal("12.500"), Decimal("-1.25"), 3).digest
    moved = [MonthFingerprint.of(11, when, Decimal("12.5"), Decimal("-1.25"), 3),
             MonthFingerprint.of(10, datetime(2026, 11, 3, tzinfo=UTC), Decimal("12.5"),
                                 Decimal("-1.25"), 3),
             MonthFingerprint.of(10, when, Decimal("12.6"), Decimal("-1.25"), 3),
             MonthFingerprint.of(10, when, Decimal("12.5"), Decimal("-1.2"), 3),
             MonthFingerprint.of(10, when, Decimal("12.5"), Decimal("-1.25"), 4)]
    assert len({base.digest, *(m.digest for m in moved)}) == 6
    assert base.details()["max_export_time"] == "2026-11-02T05:00:00+00:00"


@pytest.mark.parametrize(("error", "expected"), [
    (google_errors.TooManyRequests("slow down"), TransientError),
    (google_errors.ServiceUnavailable("down"), TransientError),
    (google_errors.InternalServerError("oops"), TransientError),
    (google_errors.DeadlineExceeded("late"), TransientError),
    (google_errors.Forbidden("quota", errors=[{"reason": "rateLimitExceeded"}]), TransientError),
    (google_errors.Forbidden("no", errors=[{"reason": "accessDenied"}]), SourceError),
    (google_errors.NotFound("gone"), SourceError),
    (google_errors.BadRequest("bad"), SourceError),
])
def test_google_errors_map_onto_retry_or_stop(error: google_errors.GoogleAPICallError,
                                              expected: type[Exception]) -> None:
    mapped = translate(error, "gcp-main", OCTOBER, "reading the invoice month", TABLE)
    assert type(mapped) is expected
    assert str(mapped).startswith("gcp-main 2026-10: reading the invoice month:")
    assert "previous load stays published" in str(mapped)
    if isinstance(error, google_errors.Forbidden) and expected is SourceError:
        assert "roles/bigquery.dataViewer" in str(mapped)


def test_without_application_default_credentials_the_first_query_says_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    source = connector(table=TABLE)  # building the connector needs no credentials
    with pytest.raises(ConfigurationError, match="gcloud auth application-default login"):
        source.find_delivery(OCTOBER)


def test_errors_inside_the_context_are_translated() -> None:
    with pytest.raises(TransientError, match="gcp-main 2026-10: fingerprinting"), \
            bigquery_errors("gcp-main", OCTOBER, "fingerprinting", TABLE):
        raise google_errors.GatewayTimeout("504")


def test_gs_uris_open_a_gcs_filesystem() -> None:
    location = open_dump("gs://my-bucket/billing/dump/", {})
    assert (location.filesystem.type_name, location.root, location.uri) == (
        "gcs", "my-bucket/billing/dump", "gs://my-bucket/billing/dump")


@given(sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=12),
       batch_rows=st.integers(min_value=1, max_value=25))
def test_batches_are_regrouped_without_losing_or_reordering_rows(sizes: list[int],
                                                                  batch_rows: int) -> None:
    numbers = iter(range(10_000))
    batches = [pa.record_batch({"n": [next(numbers) for _ in range(size)]}) for size in sizes]
    tables = list(bounded(batches, batch_rows))
    assert [n for t in tables for n in t["n"].to_pylist()] == list(range(sum(sizes)))
    assert all(t.num_rows == batch_rows for t in tables[:-1])
    assert all(0 < t.num_rows <= batch_rows for t in tables)
