"""`costalloc demo`: a realistic month of AWS billing, loaded and allocated end to end."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from core.period import BillingPeriod
from core.settings import load_settings
from demo.aws_cur import write_demo_month
from flows.nightly import nightly
from reports.extracts import export
from reports.summary import allocation_summary, render
from warehouse.connection import connect

DEMO_PERIOD = "2026-10"
DEMO_EXPORT = "costalloc-demo"


def run_demo(directory: Path) -> int:
    directory = directory.resolve()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    bucket = directory / "bucket"
    written = write_demo_month(str(bucket), period=DEMO_PERIOD)
    rules = directory / "rules.yaml"
    rules.write_text(resources.files("demo").joinpath("rules.yaml").read_text())
    config = directory / "costalloc.yaml"
    config.write_text(
        "# costalloc demo configuration (credentials never go here)\n"
        "warehouse: costalloc.duckdb\n"
        "rules: rules.yaml\n"
        "reports_dir: reports\n"
        "sources:\n"
        f"  - name: aws-demo\n    kind: aws-cur\n    uri: bucket/cur/{DEMO_EXPORT}\n")
    print(f"Wrote a demo month of AWS CUR 2.0 ({written.rows} line items, delivery "
          f"{written.fingerprint}) under {bucket}")
    nightly(config=str(config), periods=[DEMO_PERIOD])
    settings = load_settings(config)
    period = BillingPeriod.parse(DEMO_PERIOD)
    con = connect(settings.warehouse, read_only=True)
    try:
        print()
        print(render(allocation_summary(con, period)))
        extracts = [export(con, "allocated", period, "csv", settings.reports_dir),
                    export(con, "allocated", period, "xlsx", settings.reports_dir),
                    export(con, "line-items", period, "parquet", settings.reports_dir)]
    finally:
        con.close()
    print()
    print(f"warehouse:     {settings.warehouse}")
    print(f"configuration: {config}")
    print(f"rules:         {rules}")
    for path in extracts:
        print(f"extract:       {path}")
    print(f"try:           costalloc --config {config} summary --period {DEMO_PERIOD}")
    return 0
