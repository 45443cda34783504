"""`costalloc demo`: realistic billing from every source kind, loaded and allocated end to end.

The demo writes, in each provider's real layout: a month of AWS CUR 2.0 (with an older,
superseded delivery), a GCP billing export dumped to Parquet (with a late adjustment that
lands in the next invoice month), Azure Cost Management exports (EA and MCA, a reservation
purchase and its amortization), and an on-premises asset register; then runs the nightly flow
over August to November 2026 and prints October's allocation.

The demo writes only what it owns (`flows.demo_files`): a new or empty folder, or one an
earlier demo made; a file changed since the demo wrote it is kept, and the demo says so.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pyarrow.fs as pafs

from costalloc.core.period import BillingPeriod
from costalloc.core.settings import load_settings
from costalloc.demo import aws_cur
from costalloc.flows.demo_files import owned_folder
from costalloc.flows.hints import command
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


def write_demo(directory: Path) -> Path:
    """Write the demo's sources, rules and configuration into `directory` (see
    `flows.demo_files` for what is kept); returns the configuration file."""
    with owned_folder(directory) as folder:
        (folder.scratch / "drivers").mkdir(parents=True)
        for name in ("rules.yaml", "budgets.yaml", "events.yaml", "units.csv"):
            (folder.scratch / name).write_text(_packaged(name))
        (folder.scratch / "drivers" / "llm_tokens.csv").write_text(
            _packaged("drivers/llm_tokens.csv"))
        sources = []
        for writer in WRITERS:
            name, body, what = writer(folder.scratch)
            sources.append(f"  - name: {name}\n{body}")
            print(f"wrote {what}")
        (folder.scratch / "costalloc.yaml").write_text(
            "# costalloc demo configuration (credentials never go here)\n"
            "warehouse: costalloc.duckdb\nrules: rules.yaml\nreports_dir: reports\n"
            "sources:\n" + "".join(sources))
    for line in folder.report():
        print(line)
    return folder.path / "costalloc.yaml"


def run_demo(directory: Path, *, before_flows: Callable[[], object] = lambda: None) -> int:
    """Write the demo, run the nightly flow over it (after `before_flows`), print October."""
    directory = directory.resolve()
    config = write_demo(directory)
    print()
    before_flows()
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
    print(f"rules:         {settings.rules}")
    for path in extracts:
        print(f"extract:       {path}")
    tries = [("summary", "--period", DEMO_PERIOD), ("review", "--period", DEMO_PERIOD),
             ("unit-cost", "--period", DEMO_PERIOD, "--to", "2026-11")]
    if example:
        source, line_item = example[0]
        tries.append(("explain", line_item, "--source", source, "--period", DEMO_PERIOD))
    for i, words in enumerate(tries):
        print(f"{'try:' if i == 0 else '':<15}{command(*words, config=config)}")
    return 0


def _packaged(name: str) -> str:
    return resources.files("costalloc.demo").joinpath(name).read_text()
