"""Formula-based splits, applied in the warehouse inside the allocation's transaction.

Each split, in file order, takes the rows flagged for it while tagging (its `when`) and
replaces each with one part per target, weighted evenly, by fixed shares, proportionally to
the basis the targets already carry (within the period and the row's billing currency,
optionally within a provider, account...), or by a usage driver the user supplies. Targets
with zero weight get nothing; rows whose targets all weigh zero fail the allocation unless
`fallback: even`.

Proportional weights are always per currency: a target's USD and EUR cost are never added
into one weight, so a EUR row is split by what the targets carry in EUR.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from costalloc.allocation.model import SPLIT_PARTITIONS, RuleSet, Split
from costalloc.core.confinement import OutsideRoot, local_file, shown
from costalloc.core.errors import ConfigurationError, ConservationError
from costalloc.core.focus import QUANTITY
from costalloc.core.period import BillingPeriod
from costalloc.sql import fill, load, used_params
from costalloc.warehouse.connection import append

STANDARD_DIMENSIONS = ("environment", "workstream", "cost_type")
CURRENCY = "BillingCurrency"
# The line-item columns a split's `within` may partition by (SPLIT_PARTITIONS) that the narrow
# `allocated_costs` does not keep: `split_rows` carries them while the splits run, and a
# proportional split partitioned by one of them joins them onto the rows it weighs.
SPLIT_ROW_COLUMNS = ("ProviderName", "BillingAccountId", "SubAccountId", "RegionId")


def split_columns() -> str:
    """`, li.<column>` for each of SPLIT_ROW_COLUMNS: what `split_rows` adds to a select list."""
    return "".join(f", li.{column}" for column in SPLIT_ROW_COLUMNS)


def split_columns_excluded() -> str:
    """What takes them out again of a `split_rows` select list bound for `allocated_costs`."""
    return f"exclude ({', '.join(SPLIT_ROW_COLUMNS)})"


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(load("allocation/create_split_candidates"))
    con.execute(fill(load("allocation/create_split_rows"), split_columns=split_columns()))


def apply_splits(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, period: BillingPeriod,
                 drivers_root: Path) -> None:
    """Run the splits over `split_rows`, then add what they leave to `allocated_costs`."""
    for index, split in enumerate(ruleset.splits):
        _apply(con, ruleset, split, index, period, drivers_root)
    con.execute(fill(load("allocation/publish_split_rows"),
                     split_columns_excluded=split_columns_excluded()))


def _apply(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, split: Split, index: int,
           period: BillingPeriod, drivers_root: Path) -> None:
    targets = split.targets(ruleset.dimensions)
    partition_key = _partition_key(split)
    params: dict[str, object] = {
        "period": str(period), "split_index": index, "dimension": split.dimension,
        "targets": targets, "split_id": split.id, "method": split.method,
        "basis_name": _weight_name(split),
        "usage_unit": split.driver.name if split.driver else None}
    con.execute(load("allocation/create_split_weights"))
    if split.method == "proportional":
        _run(con, _with(load("allocation/proportional_weights"), partition_key,
                        basis=_checked_basis(split), target=_target_column(split),
                        allocated_rows=_allocated_rows(split)), params)
    else:
        _fixed_weights(con, split, targets, period, drivers_root)
    if split.fallback == "even":
        _run(con, _with(load("allocation/fallback_even_weights"), partition_key), params)
    stranded = _run(con, _with(load("allocation/unweighted_split_rows"), partition_key),
                    params).fetchall()
    if stranded:
        key, rows, billed = stranded[0]
        columns = _partition_columns(split)
        where = " in partition " + ", ".join(
            f"{column}={value}" for column, value in zip(columns, key.split("|"), strict=False)
        ) if columns else ""
        raise ConservationError(
            f"{period}: split `{split.id}` takes {rows} row(s) (BilledCost {billed}){where} but "
            f"its targets {targets} carry no {_weight_name(split)} there; add `fallback: even` "
            "to the split or narrow its `when`. Nothing was published.")
    _run(con, load("allocation/split_taken"), params)
    con.execute(load("allocation/split_lineages"))
    _run(con, _with(load("allocation/split_part_amounts"), partition_key), params)
    for target, taken_again, excluded in (("split_rows", "true", ""),
                                          ("allocated_costs", "false", split_columns_excluded())):
        _run(con, _with(load("allocation/insert_split_parts"), partition_key, target=target,
                        taken_again=taken_again, dimension_replace=_dimension_replace(split),
                        split_columns_excluded=excluded),
             params)
    con.execute(load("allocation/delete_split_taken"))


def _run(con: duckdb.DuckDBPyConnection, statement: str,
         params: dict[str, object]) -> duckdb.DuckDBPyConnection:
    """Execute with exactly the named parameters the statement uses (DuckDB refuses extras)."""
    return con.execute(statement, used_params(statement, params))


def _fixed_weights(con: duckdb.DuckDBPyConnection, split: Split, targets: list[str],
                   period: BillingPeriod, drivers_root: Path) -> None:
    """Weights that don't depend on the data: even, fixed shares, or a usage driver."""
    weights: dict[str, tuple[Decimal, Decimal | None]]
    if split.method == "even":
        weights = {target: (Decimal(1), None) for target in targets}
    elif split.method == "fixed":
        shares = split.shares or {}
        weights = {target: (shares[target], None) for target in targets}
    else:
        quantities = read_driver(split, period, drivers_root)
        weights = {target: (quantities[target], quantities[target])
                   for target in targets if quantities.get(target, Decimal(0)) > 0}
    table = pa.table({
        "partition_key": [""] * len(weights),
        "target": list(weights),
        "weight": [float(w) for w, _ in weights.values()],
        "quantity": pa.array([q for _, q in weights.values()],
                             pa.decimal128(QUANTITY.precision, QUANTITY.scale)),
    })
    append(con, "split_weights", table)


def read_driver(split: Split, period: BillingPeriod, drivers_root: Path) -> dict[str, Decimal]:
    """The driver's quantity per target for `period` (CSV or Parquet: period, target, quantity).
    The file must lie inside `drivers_root` (the rules file's folder), links resolved."""
    assert split.driver is not None
    where = f"split `{split.id}`: driver file `{shown(str(split.driver.file))}`"
    try:
        path = local_file(drivers_root, split.driver.file, absolute_inside=True)
    except OutsideRoot as error:
        raise ConfigurationError(f"{where} {error.reason}; a driver file must be inside the "
                                 f"rules folder `{drivers_root}`. Nothing there was read and "
                                 "nothing was published") from None
    if not path.is_file():
        raise ConfigurationError(f"{where} not found in `{drivers_root}`")
    try:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(
            path, schema_overrides={"period": pl.String, "target": pl.String,
                                    "quantity": pl.String})
        missing = {"period", "target", "quantity"} - set(frame.columns)
        if missing:
            raise ConfigurationError(f"{where} lacks column(s) {', '.join(sorted(missing))} "
                                     "(expected period, target, quantity)")
        rows = frame.filter(pl.col("period").cast(pl.String) == str(period)).select(
            "target", pl.col("quantity").cast(pl.String).str.to_decimal(scale=QUANTITY.scale))
    except (pl.exceptions.PolarsError, OSError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigurationError(f"{where} cannot be read as "
                                 f"{'Parquet' if path.suffix == '.parquet' else 'CSV'} "
                                 f"({shown(detail)}); expected columns period, target, quantity. "
                                 "Nothing was published") from None
    bad = rows.filter(pl.col("quantity").is_null() | (pl.col("quantity") < 0))
    if bad.height:
        raise ConfigurationError(f"{where} has a quantity for `{bad['target'][0]}` in {period} "
                                 "that is not a number >= 0")
    totals = rows.group_by("target").agg(pl.col("quantity").sum())
    return {str(t): Decimal(q) for t, q in totals.iter_rows()}


def _partition_columns(split: Split) -> list[str]:
    """What the split's weights are computed within: its `within`, and for a proportional split
    the billing currency too (weights in two currencies are never added)."""
    columns = [c for c in split.within if c in SPLIT_PARTITIONS]  # checked at load, again here
    if split.method == "proportional" and CURRENCY not in columns:
        columns.append(CURRENCY)
    return columns


def _partition_key(split: Split) -> str:
    columns = _partition_columns(split)
    if not columns:
        return "''"
    return "concat_ws('|', " + ", ".join(f"coalesce(a.{c}, '')" for c in columns) + ")"


def _allocated_rows(split: Split) -> str:
    """What a proportional split weighs besides `split_rows`: `allocated_costs`, joined with the
    line items' columns when its `within` partitions by one that table does not keep."""
    if not set(split.within) & set(SPLIT_ROW_COLUMNS):
        return "allocated_costs"
    rows = fill(load("allocation/allocated_with_split_columns"), split_columns=split_columns())
    return f"(\n{rows})"


def _checked_basis(split: Split) -> str:
    if split.basis not in ("BilledCost", "EffectiveCost"):
        raise ConfigurationError(f"split `{split.id}`: basis `{split.basis}` is not a cost column")
    return f"a.{split.basis}"


def _target_column(split: Split) -> str:
    """Where a row's value of the split's dimension is: its own column for the standard
    dimensions (cheap), else inside `x_dimensions`."""
    if split.dimension in STANDARD_DIMENSIONS:
        return f"a.{split.dimension}"
    return "a.x_dimensions->>$dimension"


def _weight_name(split: Split) -> str:
    if split.method == "usage" and split.driver is not None:
        return split.driver.name
    if split.method == "proportional":
        return split.basis
    return "fixed shares" if split.method == "fixed" else "equal shares"


def _dimension_replace(split: Split) -> str:
    if split.dimension not in STANDARD_DIMENSIONS:
        return ""
    return f", e.target as {split.dimension}, $split_id as x_{split.dimension}_rule"


def _with(template: str, partition_key: str, **identifiers: str) -> str:
    """Fill a SQL template's identifier slots; only values built from checked names arrive."""
    return fill(template.replace("{partition_key}", partition_key), **identifiers)
