"""The object store misbehaving: a fault-injecting proxy on 127.0.0.1 in front of moto's S3
server returns 500s, throttles (503/429 with Retry-After), resets connections and cuts
downloads mid-body. Passing faults are ridden out; lasting ones fail as transient (so the flow
retries with backoff) and leave the warehouse as it was."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pyarrow.fs as pafs
import pytest

from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.errors import TransientError
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export
from costalloc.flows.loading import load_partition
from tests.faults.proxy import FaultSchedule, fault_proxy

OCTOBER = BillingPeriod(2026, 10)


@pytest.fixture
def delivered(bucket: str, s3_filesystem: pafs.S3FileSystem) -> WrittenDelivery:
    return write_cur2_export(s3_filesystem, f"{bucket}/cur", bucket=bucket, prefix="cur",
                             export_name="exp", period="2026-10", rows=1500, parts=3,
                             file_format="csv")


def _connector(bucket: str, attempts: int = 6) -> AwsCurConnector:
    return AwsCurConnector(SourceSettings(name="aws-main", kind="aws-cur",
                                          uri=f"s3://{bucket}/cur/exp",
                                          options={"max_attempts": attempts}))


def test_passing_faults_are_ridden_out_and_nothing_is_doubled(
        bucket: str, delivered: WrittenDelivery, aws_env: str,
        monkeypatch: pytest.MonkeyPatch, warehouse: duckdb.DuckDBPyConnection) -> None:
    # HEAD of the manifest passes; then throttling, a 500, a cut download and a reset.
    schedule = FaultSchedule([None, "503", "429", "500", "cut", None, "reset", "503"])
    with fault_proxy(aws_env, schedule) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy)
        result = load_partition(warehouse, _connector(bucket), OCTOBER, "r")
    assert schedule.injected == 6
    assert result.outcome == "loaded"
    rows, total = warehouse.sql("select count(*) filter (x_line_item_type not like '%/Unused'), "
                                "sum(BilledCost) from line_items").fetchall()[0]
    assert (rows, {"USD": total}) == (delivered.rows, delivered.billed_totals)


def test_lasting_throttling_fails_as_transient_and_changes_nothing(
        bucket: str, delivered: WrittenDelivery, aws_env: str,
        monkeypatch: pytest.MonkeyPatch, warehouse: duckdb.DuckDBPyConnection) -> None:
    load_partition(warehouse, _connector(bucket), OCTOBER, "good")
    before = warehouse.sql("select count(*), sum(BilledCost) from line_items").fetchall()
    write_cur2_export(pafs.S3FileSystem(access_key="testing", secret_key="testing",
                                        region="us-east-1",
                                        endpoint_override=aws_env.split("://")[1], scheme="http"),
                      f"{bucket}/cur", bucket=bucket, prefix="cur", export_name="exp",
                      period="2026-10", rows=800, seed=5)
    schedule = FaultSchedule([None, None], forever="503")
    with fault_proxy(aws_env, schedule) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy)
        with pytest.raises(TransientError, match=r"aws-main 2026-10: .*503.*retried with backoff"):
            load_partition(warehouse, _connector(bucket, attempts=2), OCTOBER, "bad")
    assert warehouse.sql("select count(*), sum(BilledCost) from line_items").fetchall() == before
    assert before[0][1] == delivered.billed_totals["USD"] != Decimal(0)
