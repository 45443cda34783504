"""The AWS billing-export generator: AWS's real layouts and manifests, exactly the money it
reports, realistic content, and the same data for the same seed."""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from costalloc.demo.aws_cur import (
    WrittenDelivery,
    _decimal_text,
    write_cur2_export,
    write_demo_month,
    write_legacy_cur,
)

LOCAL = pafs.LocalFileSystem()
PERIOD = "2026-10"
BUCKET, PREFIX = "billing", "exports/cur"
TWO_CURRENCIES = ("USD", "EUR")
MONEY_TEXT = re.compile(r"^-?\d+\.\d{10}$")
ENV_SPELLINGS = {"prod", "Prod", "production", "prd", "stg", "staging", "dev", "development"}
LINE_ITEM_TYPES = {"Usage", "DiscountedUsage", "RIFee", "SavingsPlanCoveredUsage",
                   "SavingsPlanNegation", "SavingsPlanRecurringFee", "Tax", "Credit", "Fee",
                   "EdpDiscount"}


def _cur2(root: Path, **options: Any) -> WrittenDelivery:
    settings: dict[str, Any] = {"bucket": BUCKET, "prefix": PREFIX, "export_name": "main",
                                "period": PERIOD, "seed": 11, "currencies": TWO_CURRENCIES}
    return write_cur2_export(LOCAL, str(root), **(settings | options))


def _manifest(root: Path, written: WrittenDelivery) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((root / written.manifest_key).read_text())
    return document


def _read(root: Path, written: WrittenDelivery) -> pa.Table:
    return pa.concat_tables(pq.read_table(root / key) for key in written.data_keys)


def _sums(con: duckdb.DuckDBPyConnection, files: list[str], column: str,
          currency: str = "line_item_currency_code") -> dict[str, Decimal]:
    """Per currency, the column summed as DECIMAL(38, 10), as the warehouse would."""
    rows = con.sql(f"select {currency}, sum(cast({column} as decimal(38, 10))) "
                   "from read_parquet($files) group by 1", params={"files": files}).fetchall()
    return {str(code): total for code, total in rows}


def _csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


# --- CUR 2.0 ------------------------------------------------------------------------------


def test_cur2_files_and_manifest_are_where_and_what_aws_writes(tmp_path: Path) -> None:
    written = _cur2(tmp_path, rows=2400, parts=3, with_net_columns=True)

    folder = "main/data/BILLING_PERIOD=2026-10"
    assert written.manifest_key == "main/metadata/BILLING_PERIOD=2026-10/main-Manifest.json"
    assert written.data_keys == tuple(f"{folder}/main-0000{n}.snappy.parquet" for n in (1, 2, 3))
    manifest = _manifest(tmp_path, written)
    assert set(manifest) == {"executionId", "exportArn", "billingPeriod", "columns", "dataFiles",
                             "additionalOutputFiles"}
    assert manifest["executionId"] == written.fingerprint
    assert re.fullmatch(r"arn:aws:bcm-data-exports:us-east-1:\d{12}:export/main-[0-9a-f-]{36}",
                        manifest["exportArn"])
    assert manifest["billingPeriod"] == {"start": "2026-10-01T00:00:00.000Z",
                                         "end": "2026-11-01T00:00:00.000Z"}
    assert manifest["additionalOutputFiles"] == []
    # dataFiles are full s3:// URIs that resolve, below `root`, to exactly the files written
    assert manifest["dataFiles"] == [f"s3://{BUCKET}/{PREFIX}/{key}" for key in written.data_keys]
    resolved = {tmp_path / uri.removeprefix(f"s3://{BUCKET}/{PREFIX}/")
                for uri in manifest["dataFiles"]}
    assert resolved == set((tmp_path / folder).iterdir())
    # the manifest describes the files' schema, column for column
    schema = pq.read_schema(tmp_path / written.data_keys[0])
    assert [c["name"] for c in manifest["columns"]] == schema.names
    arrow_types = {"string": pa.string(), "double": pa.float64(),
                   "timestamp": pa.timestamp("ms", tz="UTC"),
                   "map<string,string>": pa.map_(pa.string(), pa.string()),
                   "map<string,double>": pa.map_(pa.string(), pa.float64())}
    assert {c["name"]: arrow_types[c["type"]] for c in manifest["columns"]} \
        == {field.name: field.type for field in schema}


def test_cur2_parquet_types_are_aws_types_and_maps_are_maps(tmp_path: Path) -> None:
    written = _cur2(tmp_path, rows=600, with_net_columns=True)
    schema = pq.read_schema(tmp_path / written.data_keys[0])

    for name in ("product", "resource_tags", "cost_category", "tags"):
        assert schema.field(name).type == pa.map_(pa.string(), pa.string()), name
    assert schema.field("discount").type == pa.map_(pa.string(), pa.float64())
    money = [n for n in schema.names if n.endswith(("_cost", "_fee", "_commitment_to_date"))
             or (n.startswith("savings_plan_") and schema.field(n).type != pa.string())]
    assert "line_item_net_unblended_cost" in money and "pricing_public_on_demand_cost" in money
    assert all(schema.field(n).type == pa.float64() for n in money)
    for rate in ("line_item_unblended_rate", "line_item_blended_rate",
                 "pricing_public_on_demand_rate", "line_item_net_unblended_rate"):
        assert schema.field(rate).type == pa.string(), rate
    for moment in ("bill_billing_period_start_date", "line_item_usage_start_date"):
        assert schema.field(moment).type == pa.timestamp("ms", tz="UTC")
    assert schema.field("line_item_usage_account_id").type == pa.string()
    assert 115 <= len(schema.names) <= 135, "about a hundred columns, as AWS writes them"
    for top_level in ("product_servicecode", "product_sku", "product_instance_type",
                      "product_region_code", "product_product_family"):
        assert top_level in schema.names
    for nested in ("product_name", "region", "servicename"):
        assert f"product_{nested}" not in schema.names
    con = duckdb.connect()
    names = con.sql("select distinct product['product_name'] from read_parquet($f)",
                    params={"f": str(tmp_path / written.data_keys[0])}).fetchall()
    assert ("Amazon Elastic Compute Cloud",) in names


def test_cur2_parquet_reads_back_to_the_exact_reported_totals(tmp_path: Path) -> None:
    written = _cur2(tmp_path, rows=3000, parts=2, with_net_columns=True)
    files = [str(tmp_path / key) for key in written.data_keys]
    con = duckdb.connect()

    assert con.sql("select count(*) from read_parquet($f)", params={"f": files}).fetchall() \
        == [(3000,)]
    assert _sums(con, files, "line_item_net_unblended_cost") == written.billed_totals
    assert _sums(con, files, "line_item_unblended_cost") == written.unblended_totals
    assert set(written.billed_totals) == set(TWO_CURRENCIES)
    assert written.billed_totals != written.unblended_totals, "the EDP discount shows in net cost"
    # each double is the nearest double to a decimal of at most 8 places: repr gives it back
    values = _read(tmp_path, written).column("line_item_unblended_cost").to_pylist()
    decimals = [Decimal(repr(v)) for v in values]
    assert all(d == d.quantize(Decimal("1e-8")) for d in decimals)
    assert sum(decimals) == sum(written.unblended_totals.values())
    assert max(abs(d) for d in decimals) < 200_000


def test_a_new_execution_goes_to_its_own_folder_and_only_the_newest_manifest_counts(
        tmp_path: Path) -> None:
    first = _cur2(tmp_path, rows=500)
    second = _cur2(tmp_path, rows=700, parts=2, seed=12)

    assert second.fingerprint != first.fingerprint
    folder = re.escape("main/data/BILLING_PERIOD=2026-10/")
    for key in second.data_keys:
        assert re.fullmatch(folder + rf"\d{{8}}T\d{{6}}Z-{second.fingerprint}/main-0000[12]"
                            r"\.snappy\.parquet", key), key
    assert all((tmp_path / key).is_file() for key in first.data_keys + second.data_keys)
    manifest = _manifest(tmp_path, second)
    assert manifest["executionId"] == second.fingerprint
    listed = {uri.removeprefix(f"s3://{BUCKET}/{PREFIX}/") for uri in manifest["dataFiles"]}
    assert listed == set(second.data_keys) and not listed & set(first.data_keys)

    again = _cur2(tmp_path, rows=700, parts=2, seed=12)
    assert again == second, "the same execution rewrites its own files in place"
    third = _cur2(tmp_path, rows=300, seed=13)
    assert third.data_keys[0].split("/")[3] > second.data_keys[0].split("/")[3], \
        "a later delivery sorts after the earlier one"


def test_cur2_csv_holds_the_same_line_items_as_text_with_json_maps(tmp_path: Path) -> None:
    as_csv = _cur2(tmp_path / "csv", rows=1500, file_format="csv", with_net_columns=True)
    as_parquet = _cur2(tmp_path / "parquet", rows=1500, with_net_columns=True)

    assert as_csv.data_keys == ("main/data/BILLING_PERIOD=2026-10/main-00001.csv.gz",)
    header, rows = _csv_rows(tmp_path / "csv" / as_csv.data_keys[0])
    assert header == [c["name"] for c in _manifest(tmp_path / "csv", as_csv)["columns"]]
    assert len(rows) == 1500
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        billed[row["line_item_currency_code"]] += Decimal(row["line_item_net_unblended_cost"])
        assert MONEY_TEXT.match(row["line_item_unblended_cost"])
        assert re.fullmatch(r"2026-1[01]-\d\dT\d\d:00:00Z", row["line_item_usage_end_date"])
        assert row["bill_billing_period_start_date"] == "2026-10-01T00:00:00Z"
        assert isinstance(json.loads(row["product"]), dict)
        assert all(isinstance(v, str) for v in json.loads(row["resource_tags"]).values())
    assert dict(billed) == as_csv.billed_totals == as_parquet.billed_totals
    # the same seed writes the same line items whichever format carries them
    table = _read(tmp_path / "parquet", as_parquet)
    assert [r["identity_line_item_id"] for r in rows] \
        == table.column("identity_line_item_id").to_pylist()
    assert [json.loads(r["cost_category"]) for r in rows] \
        == [dict(m) for m in table.column("cost_category").to_pylist()]
    # the discount map holds what separates net from unblended cost
    discounted = [r for r in rows if r["discount"]]
    assert len(discounted) > len(rows) / 2
    for row in discounted:
        discount = json.loads(row["discount"], parse_float=Decimal)
        assert set(discount) == {"edp_discount"}
        assert discount["edp_discount"] == Decimal(row["line_item_net_unblended_cost"]) \
            - Decimal(row["line_item_unblended_cost"]) == Decimal(row["discount_total_discount"])


def test_the_same_seed_gives_the_same_data_however_it_is_split(tmp_path: Path) -> None:
    whole = _cur2(tmp_path / "a", rows=1200)
    same = _cur2(tmp_path / "b", rows=1200)
    split = _cur2(tmp_path / "c", rows=1200, parts=3)
    other = _cur2(tmp_path / "d", rows=1200, seed=12)

    assert (tmp_path / "a" / whole.data_keys[0]).read_bytes() \
        == (tmp_path / "b" / same.data_keys[0]).read_bytes()
    assert _read(tmp_path / "c", split).equals(_read(tmp_path / "a", whole))
    assert split.billed_totals == whole.billed_totals
    assert other.billed_totals != whole.billed_totals
    ids = set(_read(tmp_path / "d", other).column("identity_line_item_id").to_pylist())
    assert not ids & set(_read(tmp_path / "a", whole).column("identity_line_item_id").to_pylist())


def test_cur2_content_is_realistic(tmp_path: Path) -> None:
    written = _cur2(tmp_path, rows=6000, parts=2, with_net_columns=True)
    rows = _read(tmp_path, written).to_pylist()
    kinds = Counter(r["line_item_line_item_type"] for r in rows)

    assert set(kinds) == LINE_ITEM_TYPES
    assert kinds["Usage"] > 0.7 * len(rows), "most lines are plain usage"
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[row["line_item_line_item_type"]].append(row)
    for kind in ("Credit", "SavingsPlanNegation", "EdpDiscount"):
        assert all(r["line_item_unblended_cost"] < 0 for r in by_kind[kind]), kind
    assert all(r["line_item_unblended_cost"] >= 0 for r in by_kind["Usage"])
    assert all(r["line_item_net_unblended_cost"] == 0 for r in by_kind["EdpDiscount"])
    for r in by_kind["DiscountedUsage"]:
        assert r["line_item_unblended_cost"] == 0 and r["reservation_effective_cost"] > 0
        assert r["reservation_reservation_a_r_n"].startswith(("arn:aws:ec2:", "arn:aws:rds:"))
    for r in by_kind["RIFee"]:
        assert r["reservation_unused_recurring_fee"] is not None
        start, end = r["line_item_usage_start_date"], r["line_item_usage_end_date"]
        assert (start.day, start.month, end.day, end.month) == (1, 10, 1, 11), "a monthly line"
    for r in by_kind["SavingsPlanCoveredUsage"]:
        assert 0 < r["savings_plan_savings_plan_effective_cost"] < r["line_item_unblended_cost"]
        assert r["savings_plan_savings_plan_a_r_n"].startswith("arn:aws:savingsplans::")
    for r in by_kind["SavingsPlanRecurringFee"]:
        assert 0 < r["savings_plan_used_commitment"] <= r["savings_plan_total_commitment_to_date"]
    for r in by_kind["Tax"]:
        assert r["line_item_tax_type"] in ("Sales Tax", "VAT")

    accounts = {r["line_item_usage_account_id"] for r in rows}
    assert len(accounts) >= 20 and all(re.fullmatch(r"\d{12}", a) for a in accounts)
    assert any(a.startswith("0") for a in accounts), "account ids are text: leading zeros stay"
    assert len({r["bill_payer_account_id"] for r in rows}) == 1
    currency_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        currency_of[r["line_item_usage_account_id"]].add(r["line_item_currency_code"])
    assert all(len(c) == 1 for c in currency_of.values()), "one currency per account"
    assert set().union(*currency_of.values()) == set(TWO_CURRENCIES)
    resources = {r["line_item_resource_id"] for r in rows if r["line_item_resource_id"]}
    assert len(resources) > 1000
    assert any(re.fullmatch(r"i-0[0-9a-f]{16}", r) for r in resources)
    assert any(r.startswith("arn:aws:lambda:") for r in resources)
    codes = {r["line_item_product_code"] for r in by_kind["Usage"]}
    assert {"AmazonEC2", "AmazonS3", "AmazonRDS", "AWSLambda", "AmazonSageMaker",
            "AmazonBedrock", "AmazonCloudWatch", "AWSDataTransfer", "AmazonEKS",
            "AmazonDynamoDB", "AmazonVPC", "AWSELB", "AmazonECS", "AmazonRoute53"} <= codes
    transit = [r for r in rows if "TransitGateway" in (r["line_item_usage_type"] or "")]
    assert transit and {r["line_item_product_code"] for r in transit} == {"AmazonVPC"}
    assert all(r["line_item_usage_start_date"] < r["line_item_usage_end_date"] for r in rows)
    assert all(r["line_item_usage_start_date"].month == 10 for r in rows)

    usage = by_kind["Usage"]
    tags = [dict(r["resource_tags"]) for r in usage]
    untagged = sum(1 for t in tags if not t) / len(usage)
    assert 0.08 < untagged < 0.25, untagged
    spellings = {t["user_environment"] for t in tags if "user_environment" in t}
    assert spellings <= ENV_SPELLINGS and len(spellings) >= 6
    keys = set().union(*tags)
    assert {"user_team", "user_workstream", "user_project", "user_cost_center",
            "aws_created_by"} <= keys
    assert "support-triage" in {t.get("user_project") for t in tags}


def test_without_net_columns_there_are_no_net_columns_and_no_edp_lines(tmp_path: Path) -> None:
    written = _cur2(tmp_path, rows=2000)
    table = _read(tmp_path, written)

    assert not [n for n in table.column_names if "_net_" in n]
    assert "EdpDiscount" not in set(table.column("line_item_line_item_type").to_pylist())
    assert written.billed_totals == written.unblended_totals
    assert 100 <= table.num_columns <= 120


# --- legacy CUR ---------------------------------------------------------------------------


def test_legacy_csv_report_layout_manifest_and_category_name_headers(tmp_path: Path) -> None:
    written = write_legacy_cur(LOCAL, str(tmp_path), bucket=BUCKET, prefix="legacy",
                               report_name="acme-cur", period=PERIOD, rows=1500, parts=2, seed=11,
                               currencies=TWO_CURRENCIES)

    span = "acme-cur/20261001-20261101"
    assert written.manifest_key == f"{span}/acme-cur-Manifest.json"
    assert written.data_keys == tuple(f"{span}/{written.fingerprint}/acme-cur-{n}.csv.gz"
                                      for n in (1, 2))
    manifest = _manifest(tmp_path, written)
    assert manifest["assemblyId"] == written.fingerprint
    assert re.fullmatch(r"\d{12}", manifest["account"])
    assert manifest["billingPeriod"] == {"start": "20261001T000000.000Z",
                                         "end": "20261101T000000.000Z"}
    assert manifest["bucket"] == BUCKET
    assert manifest["reportKeys"] == [f"legacy/{key}" for key in written.data_keys]
    assert (manifest["compression"], manifest["contentType"], manifest["charset"]) \
        == ("GZIP", "text/csv", "UTF-8")
    assert manifest["reportName"] == "acme-cur" and re.fullmatch(r"[0-9a-f]{64}",
                                                                  manifest["reportId"])

    header, rows = _csv_rows(tmp_path / written.data_keys[0])
    rows += _csv_rows(tmp_path / written.data_keys[1])[1]
    assert header == [f"{c['category']}/{c['name']}" for c in manifest["columns"]]
    assert all(set(c) == {"category", "name", "type"} for c in manifest["columns"])
    for spelling in ("identity/LineItemId", "bill/BillingPeriodStartDate",
                     "lineItem/UnblendedCost", "lineItem/LineItemType", "product/ProductName",
                     "product/region", "pricing/publicOnDemandCost", "reservation/ReservationARN",
                     "savingsPlan/SavingsPlanARN", "resourceTags/user:Env",
                     "resourceTags/aws:createdBy", "costCategory/Team"):
        assert spelling in header, spelling
    assert all("/" in name for name in header)
    assert len(rows) == 1500
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row["lineItem/CurrencyCode"]] += Decimal(row["lineItem/UnblendedCost"])
        assert MONEY_TEXT.match(row["lineItem/UnblendedCost"])
    assert dict(totals) == written.billed_totals == written.unblended_totals
    assert {r["bill/BillingPeriodStartDate"] for r in rows} == {"2026-10-01T00:00:00Z"}
    assert {r["resourceTags/user:Env"] for r in rows} - {""} <= ENV_SPELLINGS


def test_legacy_tag_columns_follow_the_month(tmp_path: Path) -> None:
    november = write_legacy_cur(LOCAL, str(tmp_path), bucket=BUCKET, prefix="legacy",
                                report_name="acme-cur", period="2026-11", rows=200, seed=11)
    header, _ = _csv_rows(tmp_path / november.data_keys[0])

    assert "resourceTags/user:Environment" in header and "resourceTags/user:Env" not in header
    assert november.manifest_key == "acme-cur/20261101-20261201/acme-cur-Manifest.json"


def test_legacy_parquet_is_the_athena_flavour_and_a_new_assembly_replaces_the_old(
        tmp_path: Path) -> None:
    common: dict[str, Any] = {"bucket": BUCKET, "prefix": "legacy", "report_name": "acme-cur",
                              "period": PERIOD, "flavour": "parquet", "seed": 11,
                              "currencies": TWO_CURRENCIES}
    older = write_legacy_cur(LOCAL, str(tmp_path), rows=400, **common)
    written = write_legacy_cur(LOCAL, str(tmp_path), rows=1200, parts=2, **common)

    assert written.fingerprint != older.fingerprint
    assert all((tmp_path / key).is_file() for key in older.data_keys), "old assemblies stay"
    assert written.data_keys[0].endswith(f"/{written.fingerprint}/acme-cur-00001.snappy.parquet")
    manifest = _manifest(tmp_path, written)
    assert (manifest["compression"], manifest["contentType"]) == ("Parquet", "Parquet")
    assert manifest["reportKeys"] == [f"legacy/{key}" for key in written.data_keys]
    schema = pq.read_schema(tmp_path / written.data_keys[0])
    for name in ("line_item_unblended_cost", "resource_tags_user_env",
                 "resource_tags_aws_created_by", "cost_category_team",
                 "reservation_reservation_a_r_n", "savings_plan_savings_plan_a_r_n",
                 "product_product_name", "bill_billing_period_start_date"):
        assert name in schema.names, name
    assert not [n for n in schema.names if "/" in n or ":" in n]
    assert schema.field("line_item_unblended_cost").type == pa.float64()
    files = [str(tmp_path / key) for key in written.data_keys]
    con = duckdb.connect()
    assert _sums(con, files, "line_item_unblended_cost") == written.billed_totals


# --- S3, the demo, the money encoding -------------------------------------------------------


def test_writes_a_delivery_to_s3_through_moto(bucket: str,
                                              s3_filesystem: pafs.S3FileSystem) -> None:
    written = write_cur2_export(s3_filesystem, f"{bucket}/cur", bucket=bucket, prefix="cur",
                                export_name="main", period=PERIOD, rows=800, parts=2, seed=11,
                                with_net_columns=True, currencies=TWO_CURRENCIES)

    client = boto3.client("s3")
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {f"cur/{k}" for k in (written.manifest_key, *written.data_keys)}, \
        "exactly the objects AWS would write: no folder markers"
    body = client.get_object(Bucket=bucket, Key=f"cur/{written.manifest_key}")["Body"].read()
    manifest = json.loads(body)
    assert manifest["dataFiles"] == [f"s3://{bucket}/cur/{k}" for k in written.data_keys]
    table = pa.concat_tables(pq.read_table(f"{bucket}/cur/{k}", filesystem=s3_filesystem)
                             for k in written.data_keys)
    assert table.num_rows == 800
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for code, cost in zip(table.column("line_item_currency_code").to_pylist(),
                          table.column("line_item_net_unblended_cost").to_pylist(), strict=True):
        billed[code] += Decimal(repr(cost))
    assert dict(billed) == written.billed_totals


def test_the_demo_month_supersedes_an_earlier_delivery(tmp_path: Path) -> None:
    written = write_demo_month(str(tmp_path))

    root = tmp_path / "cur"
    assert written.rows == 20_000 and len(written.data_keys) == 2
    assert (root / written.manifest_key) == (
        root / "costalloc-demo/metadata/BILLING_PERIOD=2026-10/costalloc-demo-Manifest.json")
    period_folder = root / "costalloc-demo/data/BILLING_PERIOD=2026-10"
    older = sorted(p.name for p in period_folder.glob("*.snappy.parquet"))
    assert older == ["costalloc-demo-00001.snappy.parquet", "costalloc-demo-00002.snappy.parquet"]
    listed = [uri.removeprefix("s3://costalloc-demo-billing/cur/")
              for uri in _manifest(root, written)["dataFiles"]]
    assert listed == list(written.data_keys)
    assert all(key.split("/")[3].endswith(f"-{written.fingerprint}") for key in listed), \
        "the newest delivery sits in its own folder; the superseded files are not listed"
    files = [str(root / key) for key in written.data_keys]
    con = duckdb.connect()
    assert _sums(con, files, "line_item_net_unblended_cost") == written.billed_totals
    assert con.sql("select count(*) from read_parquet($f)", params={"f": files}).fetchall() \
        == [(20_000,)]


@given(st.integers(min_value=-20_000_000_000_000, max_value=20_000_000_000_000))
def test_money_units_survive_as_doubles_and_as_text(units: int) -> None:
    exact = Decimal(units) / 100_000_000
    assert Decimal(repr(units / 100_000_000)) == exact
    assert _decimal_text(pa.array([units], pa.int64())).to_pylist() == [f"{exact:.10f}"]


@pytest.mark.parametrize(("options", "message"), [
    ({"period": "2026-13"}, "expected `YYYY-MM`"),
    ({"parts": 0}, "parts 0"),
    ({"currencies": ("usd",)}, "ISO 4217"),
    ({"file_format": "json"}, "file_format `json`"),
])
def test_arguments_are_checked_with_a_message_that_says_what_is_expected(
        tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _cur2(tmp_path, rows=10, **options)
    assert not list(tmp_path.iterdir()), "nothing is written"

