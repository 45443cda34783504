"""A real legacy CUR (tests/samples/aws) with units and names AWS leaves out: the unit comes
from the same SKU's rows elsewhere in the delivery — even in a later batch — then from the usage
type, then `Units`; RegionName from the region table; SkuPriceId has one SkuId."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from costalloc.connectors.aws import AwsCurConnector
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import SourceSettings
from costalloc.flows.loading import load_partition

SAMPLE = (Path(__file__).resolve().parents[2] / "samples" / "aws" / "legacy-cur-csv"
          / "sample-anonymous-aws-export-dataset.csv")
NOVEMBER = BillingPeriod(2023, 11)


def _report(folder: Path, rows: pl.DataFrame) -> Path:
    span = "20231101-20231201"
    (folder / "report" / span / "a1").mkdir(parents=True)
    rows.write_csv(folder / "report" / span / "a1" / "report-1.csv")
    manifest = {"assemblyId": "a1", "reportKeys": [f"p/report/{span}/a1/report-1.csv"]}
    (folder / "report" / span / "report-Manifest.json").write_text(json.dumps(manifest))
    return folder / "report"


def test_units_regions_and_prices_aws_leaves_out_are_derived(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = pl.read_csv(SAMPLE, infer_schema=False).with_row_index("n")
    storage = rows.filter(pl.col("pricing/unit") == "GB-Mo").get_column("product/sku")[0]
    last = rows.filter(pl.col("product/sku") == storage).get_column("n").max()
    unit_gone = ((pl.col("product/sku") == storage) & (pl.col("n") != last))  # AWS left it empty
    # two usage rows of other SKUs become a SKU no row prices, metered as EC2 instance hours, and
    # one nothing explains
    first, second = rows.filter((pl.col("lineItem/LineItemType") == "Usage")
                                & (pl.col("product/sku") != storage)).get_column("n")[:2]
    rewritten = {first: ("NEWSKU1", "USE1-BoxUsage:t3.micro"), second: ("NEWSKU2", "Mystery-Thing")}
    rows = rows.with_columns(
        pl.when(unit_gone | pl.col("n").is_in(list(rewritten))).then(None)
        .otherwise(pl.col("pricing/unit")).alias("pricing/unit"),
        *(pl.when(pl.col("n") == first).then(pl.lit(rewritten[first][i]))
          .when(pl.col("n") == second).then(pl.lit(rewritten[second][i]))
          .otherwise(pl.col(name)).alias(name)
          for i, name in enumerate(("product/sku", "lineItem/UsageType"))),
    ).with_columns(  # and a usage type that implies nothing: only the SKU's other row can tell
        pl.when(unit_gone).then(pl.lit("EUC1-Mystery")).otherwise(pl.col("lineItem/UsageType"))
        .alias("lineItem/UsageType"))
    uri = _report(tmp_path, rows.drop("n"))
    # batches of 100 rows: the SKU's priced row is read long after its unpriced ones
    connector = AwsCurConnector(SourceSettings(name="aws", kind="aws-cur", uri=str(uri),
                                               options={"batch_rows": 100}))
    assert load_partition(warehouse, connector, NOVEMBER, "r").rows == rows.height

    units = dict(warehouse.sql(
        "select SkuId, list(distinct ConsumedUnit) from line_items where SkuId in "
        "($storage, 'NEWSKU1', 'NEWSKU2') group by 1", params={"storage": storage}).fetchall())
    assert units == {storage: ["GB-Months"], "NEWSKU1": ["Hours"], "NEWSKU2": ["Units"]}
    unpaired = warehouse.sql("select count(*) from line_items where (ConsumedQuantity is null) "
                             "<> (ConsumedUnit is null)").fetchall()[0][0]
    assert unpaired == 0
    # the sample has region codes but no `product/location`: names come from the table
    names = dict(warehouse.sql("select distinct RegionId, RegionName from line_items "
                               "where RegionId is not null").fetchall())
    assert names["us-east-1"] == "US East (N. Virginia)"
    assert names["ca-central-1"] == "Canada (Central)"
    assert "global" not in names
    assert warehouse.sql("select count(*) from line_items where RegionId is not null and "
                         "RegionName is null").fetchall()[0][0] == 0
    # SkuPriceId: AWS's rate code, which starts with its SKU; one parent SkuId each
    shared = warehouse.sql("select count(*) from (select SkuPriceId from line_items where "
                           "SkuPriceId is not null group by 1 having count(distinct SkuId) > 1)"
                           ).fetchall()[0][0]
    assert shared == 0
    prices = warehouse.sql("select SkuId, SkuPriceId from line_items where ChargeCategory = "
                           "'Usage' and SkuId = $sku limit 1", params={"sku": storage}).fetchall()
    assert prices[0][1].startswith(storage + ".")
