"""`costalloc demo`: realistic billing from every source kind, loaded and allocated end to end.

The demo writes, in each provider's real layout: a month of AWS CUR 2.0 (with an older,
superseded delivery), a GCP billing export dumped to Parquet (with a late adjustment that
lands in the next invoice month), Azure Cost Management exports (EA and MCA, a reservation
purchase and its amortization), and an on-premises asset register; then runs the nightly flow over October and
November 2026 and prints October's allocation.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pyarrow.fs as pafs

from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.demo import aws_cur
from costalloc.flows.nightly import nightly
from costalloc.reports.finance.extracts import export
from costalloc.reports.finance.summary import allocation_summary, render
from costalloc.warehouse.connection import connect

DEMO_PERIOD = "2026-10"
DEMO_PERIODS = ["2026-08", "2026-09", "2026-10", "2026-11"]
# Two earlier AWS months, growing, so the review has movers and the forecast a trend.
AWS_HISTORY = {"2026-08": 14_000, "2026-09": 17_000}
SourceWriter = Callable[[Path], tuple[str, str, str]]  # → (source yaml, what was written)


def _aws(directory: Path) -> tuple[str, str, str]:
    for period, rows in AWS_HISTORY.items():
        aws_cur.write_cur2_export(
            pafs.LocalFileSystem(), str(directory / "bucket" / aws_cur.DEMO_PREFIX),
            bucket=aws_cur.DEMO_BUCKET, prefix=aws_cur.DEMO_PREFIX,
            export_name=aws_cur.DEMO_EXPORT_NAME, period=period, rows=rows, seed=7, parts=2,
            with_net_columns=True)
    written = aws_cur.write_demo_month(str(directory / "bucket"), period=DEMO_PERIOD)
    uri = f"bucket/cur/{aws_cur.DEMO_EXPORT_NAME}"
    return ("aws-demo", f"    kind: aws-cur\n    uri: {uri}\n",
            f"AWS CUR 2.0, {written.rows} line items for {DEMO_PERIOD} (delivery "
            f"{written.fingerprint}) and {sum(AWS_HISTORY.values())} for the two months before")


def _gcp(directory: Path) -> tuple[str, str, str]:
    from costalloc.demo import gcp_billing

    written = gcp_billing.write_demo_month(str(directory), period=DEMO_PERIOD)
    uri = Path(written.uri).relative_to(directory)
    return ("gcp-demo", f"    kind: gcp-bigquery\n    uri: {uri}\n",
            f"GCP billing export dump, {written.rows} rows for {DEMO_PERIOD} + "
            f"{written.next_month_rows} in the next invoice month")


def _assets(directory: Path) -> tuple[str, str, str]:
    (directory / "assets.csv").write_text(_packaged("assets.csv"))
    return ("on-prem", "    kind: asset-register\n    uri: assets.csv\n",
            "asset register, 3 GPU servers (one in service mid-October)")


def _azure(directory: Path) -> tuple[str, str, str]:
    from costalloc.demo import azure_exports

    written = azure_exports.write_demo_month(str(directory / "azure"))
    return ("azure-demo", "    kind: azure-export\n    uri: azure/costalloc\n",
            f"Azure Cost Management exports, EA and MCA, ActualCost + AmortizedCost "
            f"({written.rows} line items)")


WRITERS: tuple[SourceWriter, ...] = (_aws, _gcp, _azure, _assets)


def run_demo(directory: Path) -> int:
    directory = directory.resolve()
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "drivers").mkdir(parents=True)
    for name in ("rules.yaml", "budgets.yaml", "events.yaml", "units.csv"):
        (directory / name).write_text(_packaged(name))
    (directory / "drivers" / "llm_tokens.csv").write_text(_packaged("drivers/llm_tokens.csv"))
    sources = []
    for writer in WRITERS:
        name, body, what = writer(directory)
        sources.append(f"  - name: {name}\n{body}")
        print(f"wrote {what}")
    config = directory / "costalloc.yaml"
    config.write_text("# costalloc demo configuration (credentials never go here)\n"
                      "warehouse: costalloc.duckdb\nrules: rules.yaml\nreports_dir: reports\n"
                      "sources:\n" + "".join(sources))
    print()
    nightly(config=str(config), periods=DEMO_PERIODS)
    settings = load_settings(config)
    period = BillingPeriod.parse(DEMO_PERIOD)
    con = connect(settings.warehouse, read_only=True)
    try:
        print()
        print(render(allocation_summary(con, period)))
        extracts = [export(con, "allocated", period, "csv", settings.reports_dir),
                    export(con, "allocated", period, "xlsx", settings.reports_dir),
                    export(con, "line-items", period, "parquet", settings.reports_dir)]
        example = con.sql("select x_source, x_line_item_id from allocated_costs "
                          "where x_billing_period = $p and x_split_rule is not null "
                          "order by BilledCost desc limit 1", params={"p": DEMO_PERIOD}).fetchall()
    finally:
        con.close()
    print()
    print(f"warehouse:     {settings.warehouse}")
    print(f"configuration: {config}")
    print(f"rules:         {directory / 'rules.yaml'}")
    for path in extracts:
        print(f"extract:       {path}")
    print(f"try:           costalloc --config {config} summary --period {DEMO_PERIOD}")
    print(f"               costalloc --config {config} review --period {DEMO_PERIOD}")
    print(f"               costalloc --config {config} unit-cost --period {DEMO_PERIOD} "
          "--to 2026-11")
    if example:
        source, line_item = example[0]
        print(f"               costalloc --config {config} explain {line_item} "
              f"--source {source} --period {DEMO_PERIOD}")
    return 0


def _packaged(name: str) -> str:
    return resources.files("costalloc.demo").joinpath(name).read_text()
