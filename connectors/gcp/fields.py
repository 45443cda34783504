"""Fields of an export row by dotted path (`service.description`), whatever the table has.

Standard and detailed exports differ (`resource`, `price` exist only in the detailed one), GCP
adds fields over time (`tags`, `cost_at_list`, `project.ancestors` arrived late) and a Parquet
dump may come from any of them. A path the rows don't have reads as null, so one normalizer
serves them all and unknown extra fields are simply never looked at.
"""

from __future__ import annotations

import polars as pl

from costalloc.connectors.money import as_decimal
from costalloc.connectors.timestamps import utc_time
from costalloc.core.focus import MONEY, QUANTITY


class Fields:
    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema

    def dtype(self, path: str) -> pl.DataType | None:
        """The type at `path`, or None when the rows don't have it."""
        head, *rest = path.split(".")
        if head not in self.schema:
            return None
        dtype: pl.DataType = self.schema[head]
        for name in rest:
            if not isinstance(dtype, pl.Struct):
                return None
            found = {f.name: f.dtype for f in dtype.fields}.get(name)
            if found is None:
                return None
            dtype = found if isinstance(found, pl.DataType) else found()
        return dtype

    def has(self, path: str) -> bool:
        return self.dtype(path) is not None

    def raw(self, path: str) -> pl.Expr:
        """The value as stored; callers check `has` first."""
        head, *rest = path.split(".")
        expr = pl.col(head)
        for name in rest:
            expr = expr.struct.field(name)
        return expr

    def text(self, path: str) -> pl.Expr:
        """A string field; empty text counts as absent."""
        if not self.has(path):
            return pl.lit(None, dtype=pl.String)
        value = self.raw(path).cast(pl.String)
        return pl.when(value != "").then(value)

    def money(self, path: str) -> pl.Expr:
        """A FLOAT / NUMERIC / text amount as DECIMAL(38, 10)."""
        dtype = self.dtype(path)
        if dtype is None:
            return pl.lit(None, dtype=MONEY)
        return decimal(self.raw(path), dtype)

    def quantity(self, path: str) -> pl.Expr:
        """A FLOAT / NUMERIC / text quantity with every digit it carries (DECIMAL(38, 18))."""
        dtype = self.dtype(path)
        if dtype is None:
            return pl.lit(None, dtype=QUANTITY)
        return as_decimal(self.raw(path), dtype, QUANTITY)

    def time(self, path: str) -> pl.Expr:
        """A TIMESTAMP (top-level in every export) as UTC."""
        return utc_time(path, self.schema)

    def items(self, path: str) -> pl.Expr | None:
        """A REPEATED RECORD (`labels`, `credits`, `project.labels`) as a list of structs, or
        None when the rows don't carry it (or carry it in another shape)."""
        dtype = self.dtype(path)
        if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
            return None
        return self.raw(path)

    def item_field(self, path: str, name: str) -> pl.DataType | None:
        """The type of field `name` of the records in the REPEATED RECORD at `path`."""
        dtype = self.dtype(path)
        if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct):
            return None
        for item in dtype.inner.fields:
            if item.name == name:
                return item.dtype if isinstance(item.dtype, pl.DataType) else item.dtype()
        return None


def decimal(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """An amount as DECIMAL(38, 10); a float goes through its shortest text, so 0.1 stays 0.1."""
    return as_decimal(value, dtype, MONEY)
