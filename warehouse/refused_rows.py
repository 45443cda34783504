"""Which line item `line_items` refused, and why: a NOT NULL column left empty, or a JSON
column holding text that is not JSON. Asked only after DuckDB has refused an insert (its own
message names neither a file nor a row), so it may take its time; the constraints come from
the table itself, so a constraint added to the DDL is found here without a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa

from costalloc.sql import load

_SHOWN = 60  # characters of a refused value quoted in the error


@dataclass(frozen=True)
class RefusedRow:
    line_item_id: int  # `x_line_item_id` of the first refused line item
    column: str
    problem: str  # completes "column `X` …"


def first_refused_row(con: duckdb.DuckDBPyConnection,
                      line_items: Iterable[pa.Table]) -> RefusedRow | None:
    """The first line item (in `x_line_item_id` order within the first batch holding one) that
    breaks a NOT NULL or JSON column of `line_items`, or None when none does."""
    constraints = con.sql(load("warehouse/line_item_constraints")).fetchall()
    for table in line_items:
        batch = pl.from_arrow(table)
        assert isinstance(batch, pl.DataFrame)
        found: list[RefusedRow] = []
        for column, required, is_json in constraints:
            if column not in batch.columns:  # a NOT NULL column the rows don't have at all
                found += _first(batch, pl.lit(bool(required)), column, "is missing")
                continue
            values = pl.col(column)
            if required:
                found += _first(batch, values.is_null(), column, "is empty")
            if is_json:
                not_json = values.cast(pl.String).str.json_path_match("$").is_null()
                found += _first(batch, values.is_not_null() & not_json, column, "")
        if found:
            return min(found, key=lambda refused: refused.line_item_id)
    return None


def _first(batch: pl.DataFrame, test: pl.Expr, column: str, problem: str) -> list[RefusedRow]:
    bad = batch.filter(test).sort("x_line_item_id").head(1)
    if not bad.height:
        return []
    line_item_id = int(bad["x_line_item_id"][0])
    if not problem:
        value = str(bad[column].cast(pl.String)[0])
        shown = value if len(value) <= _SHOWN else value[:_SHOWN] + "…"
        problem = f"holds `{shown}`, which is not JSON"
    return [RefusedRow(line_item_id, column, problem)]
