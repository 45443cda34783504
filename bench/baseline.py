"""The floor: a bare DuckDB script that does the least a loader must do.

It reads the same files costalloc reads, selects the CUR columns costalloc's normalizer uses
(those of either generator's months: `tests/bench` checks the hard month's against
`connectors.aws.columns.needed`), casts money to DECIMAL(38, 10) and writes one table into a
fresh DuckDB file. No mapping, no
checks, no allocation. Run as its own process:

    python -m bench.baseline --kind cur2-parquet --out /tmp/floor.duckdb FILE...
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

# CUR 2.0 names of the columns `connectors/aws/normalize.py` reads.
TEXT_COLUMNS = (
    "bill_billing_entity", "bill_invoice_id", "bill_payer_account_id", "bill_payer_account_name",
    "identity_line_item_id", "line_item_availability_zone", "line_item_currency_code",
    "line_item_legal_entity", "line_item_line_item_description", "line_item_line_item_type",
    "line_item_operation", "line_item_product_code", "line_item_resource_id",
    "line_item_usage_account_id", "line_item_usage_account_name", "line_item_usage_type",
    "pricing_rate_code", "pricing_rate_id", "pricing_term", "pricing_unit", "product_location",
    "product_product_family", "product_region_code", "product_servicecode", "product_sku",
    "reservation_reservation_a_r_n", "savings_plan_savings_plan_a_r_n",
    "bill_billing_period_start_date", "bill_billing_period_end_date",
    "line_item_usage_start_date", "line_item_usage_end_date",
)
MONEY_COLUMNS = (
    "line_item_unblended_cost", "line_item_net_unblended_cost", "line_item_unblended_rate",
    "line_item_usage_amount", "pricing_public_on_demand_cost", "pricing_public_on_demand_rate",
    "reservation_effective_cost", "reservation_net_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_net_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee", "reservation_net_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost", "savings_plan_net_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
    "line_item_blended_cost", "line_item_normalized_usage_amount",  # checked money, hard month
)
MAP_COLUMNS = ("product", "resource_tags", "cost_category")  # CUR 2.0; legacy has tag columns
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--kind", required=True,
                        choices=["cur2-parquet", "cur2-csv", "legacy-csv", "hard-cur2-parquet"])
    parser.add_argument("--out", required=True, type=Path, help="DuckDB file to (re)create")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    args.out.unlink(missing_ok=True)
    con = duckdb.connect(str(args.out))
    source = _reader(args.kind, args.files)
    header = [row[0] for row in con.sql(f"describe select * from {source}").fetchall()]  # noqa: S608
    con.execute(f"create table line_items as select {_projection(args.kind, header)} "  # noqa: S608
                f"from {source}")
    rows = con.sql("select count(*) from line_items").fetchall()[0][0]
    con.close()
    print(f"baseline: {rows} rows into {args.out}", file=sys.stderr)
    return 0


def _reader(kind: str, files: list[str]) -> str:
    listed = "[" + ", ".join(_quote(f) for f in files) + "]"
    if kind.endswith("parquet"):
        return f"read_parquet({listed})"
    return f"read_csv({listed}, header = true, all_varchar = true, compression = 'gzip')"


def _projection(kind: str, header: list[str]) -> str:
    """Text columns as they are, money cast to DECIMAL(38, 10), tags and product as stored."""
    by_cur2_name = {_snake(name) if kind == "legacy-csv" else name: name for name in header}
    selected = []
    for column in TEXT_COLUMNS:
        if column in by_cur2_name:
            selected.append(_ident(by_cur2_name[column]))
    for column in MONEY_COLUMNS:
        if column in by_cur2_name:
            value = _ident(by_cur2_name[column])
            value = value if kind.endswith("parquet") else f"trim({value})"
            selected.append(f"cast({value} as decimal(38, 10)) as {_ident(column)}")
    if kind == "legacy-csv":
        selected += [_ident(n) for n in header if n.startswith(("resourceTags/", "costCategory/"))]
    else:
        selected += [_ident(n) for n in MAP_COLUMNS if n in header]
    return ", ".join(selected)


def _snake(legacy_header: str) -> str:
    """`lineItem/UnblendedCost` → `line_item_unblended_cost` (AWS's Athena spelling)."""
    parts = [_CAMEL.sub("_", part).lower() for part in legacy_header.split("/", 1) if part]
    return re.sub(r"[^a-z0-9]+", "_", "_".join(parts)).strip("_")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":
    raise SystemExit(main())
