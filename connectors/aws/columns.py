"""The three spellings of CUR columns, brought to one: CUR 2.0's snake_case.

- CUR 2.0 (Data Exports): `line_item_unblended_cost`; tags in the MAP `resource_tags`
  (`user_env`, `aws_createdBy`), cost categories in the MAP `cost_category`.
- legacy CUR, CSV: `lineItem/UnblendedCost`; one column per tag, `resourceTags/user:Env`,
  `resourceTags/aws:createdBy`, `costCategory/Team`.
- legacy CUR, Athena/Parquet: `line_item_unblended_cost`; flattened tag columns
  `resource_tags_user_env`, `resource_tags_aws_created_by`.
"""

from __future__ import annotations

import re

import polars as pl

from costalloc.connectors import tags
from costalloc.connectors.aws import normalize

TAG_KEY_RENAMES = {"user_": "", "aws_": "aws:"}
COST_CATEGORY_PREFIX = "aws:costCategory/"
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(legacy_header: str) -> str:
    """`lineItem/UnblendedCost` → `line_item_unblended_cost`, as AWS's Athena tables name it."""
    category, _, name = legacy_header.partition("/")
    parts = [_CAMEL_BOUNDARY.sub("_", part).lower() for part in (category, name) if part]
    return re.sub(r"[^a-z0-9]+", "_", "_".join(parts)).strip("_")


# Without these a CUR row can't become a FOCUS line item (CUR 2.0 names; legacy spellings map).
REQUIRED = ("bill_billing_period_start_date", "bill_payer_account_id",
            "line_item_line_item_type", "line_item_usage_start_date",
            "line_item_unblended_cost", "line_item_currency_code")


def missing_required(names: list[str]) -> list[str]:
    present = {snake_case(name) if "/" in name else name for name in names}
    return [column for column in REQUIRED if column not in present]


def is_checked_money(name: str) -> bool:
    """A raw column the loader checks parses as a number (any spelling)."""
    return (name.endswith(("_cost", "Cost", "_amount", "Amount"))
            or name in ("line_item_unblended_rate", "pricing_public_on_demand_rate"))


# Read as a quantity or unit price (DECIMAL(38, 18)) by the normalizer.
QUANTITIES = ("line_item_usage_amount", "line_item_unblended_rate", "pricing_public_on_demand_rate")


def is_quantity(name: str) -> bool:
    """A raw column (any spelling) the normalizer reads as a quantity or unit price."""
    return (snake_case(name) if "/" in name else name) in QUANTITIES


def needed(names: list[str]) -> list[str]:
    """The columns of a CUR file (any flavour) that loading uses, in file order: what the
    normalizer reads, the tag columns and the money columns the loader checks. An export has
    ~130 columns and costalloc maps ~45, so the rest are never decoded."""
    cur2 = {name: snake_case(name) if "/" in name else name for name in names}
    reads = normalize.columns_read([*cur2.values(), "x_tags_json"]) | set(REQUIRED)
    return [name for name in names if cur2[name] in reads or is_checked_money(name)
            or cur2[name].startswith(("resource_tags", "cost_category"))]


_SKU_SPELLINGS = ("product_sku", "product/sku")
_UNIT_SPELLINGS = ("pricing_unit", "pricing/unit")


def sku_and_unit(names: list[str]) -> list[str]:
    """The SKU and pricing-unit columns of a CUR file (any flavour), or [] without both."""
    sku = next((name for name in _SKU_SPELLINGS if name in names), None)
    unit = next((name for name in _UNIT_SPELLINGS if name in names), None)
    return [sku, unit] if sku and unit else []


def sku_pass(names: list[str]) -> list[str]:
    """What the SKU-unit pass reads: those two columns (or one column, to count rows only)."""
    return sku_and_unit(names) or names[:1]


def is_legacy_csv(columns: list[str]) -> bool:
    return any("/" in column for column in columns)


def canonical(raw: pl.LazyFrame, *, with_tags: bool = True) -> pl.LazyFrame:
    """Any CUR flavour → CUR 2.0 column names, with tags gathered into `x_tags_json` (unless
    `with_tags` is false: the control totals need only the cost columns)."""
    columns = raw.collect_schema().names()
    if is_legacy_csv(columns):
        return _from_legacy_csv(raw, columns)
    if "resource_tags" in columns or "cost_category" in columns:
        return _from_cur2(raw) if with_tags else raw
    return _from_legacy_athena(raw, columns)


def _from_cur2(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Tags from the `resource_tags` and `cost_category` maps. A month has a few thousand
    distinct tag sets among its millions of rows, so the JSON is built once per distinct set
    and joined back (row order kept)."""
    schema = raw.collect_schema()
    fragments = []
    keys = [column for column in ("resource_tags", "cost_category") if column in schema]
    for column, prefix in (("resource_tags", ""), ("cost_category", COST_CATEGORY_PREFIX)):
        if column not in schema:
            continue
        renames = TAG_KEY_RENAMES if not prefix else {}
        if tags.is_map(schema[column]):
            fragments.append(tags.fragment_from_entries(tags.entries(column, schema[column]),
                                                        prefix, renames))
        else:
            fragment = tags.fragment_from_json_object(pl.col(column), prefix)
            fragments.append(tags.rename_keys(fragment, renames))
    distinct = raw.select(keys).unique().with_columns(
        tags.tags_object(fragments).alias("x_tags_json"))
    return raw.join(distinct, on=keys, how="left", nulls_equal=True, maintain_order="left")


def _from_legacy_csv(raw: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    fragments = []
    for column in columns:
        category, _, name = column.partition("/")
        if category == "resourceTags":
            key = name.removeprefix("user:")
            fragments.append(tags.fragment_from_column(column, key))
        elif category == "costCategory":
            fragments.append(tags.fragment_from_column(column, COST_CATEGORY_PREFIX + name))
    tag_columns = [c for c in columns if c.startswith(("resourceTags/", "costCategory/"))]
    renamed = {c: snake_case(c) for c in columns if c not in tag_columns}
    return (
        raw.with_columns(tags.tags_object(fragments).alias("x_tags_json"))
        .drop(tag_columns)
        .rename(renamed)
    )


def _from_legacy_athena(raw: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    fragments = []
    tag_columns = []
    for column in columns:
        if column.startswith("resource_tags_user_"):
            fragments.append(tags.fragment_from_column(column, column.removeprefix("resource_tags_user_")))
        elif column.startswith("resource_tags_aws_"):
            key = "aws:" + column.removeprefix("resource_tags_aws_")
            fragments.append(tags.fragment_from_column(column, key))
        elif column.startswith("cost_category_"):
            key = COST_CATEGORY_PREFIX + column.removeprefix("cost_category_")
            fragments.append(tags.fragment_from_column(column, key))
        else:
            continue
        tag_columns.append(column)
    return raw.with_columns(tags.tags_object(fragments).alias("x_tags_json")).drop(tag_columns)
