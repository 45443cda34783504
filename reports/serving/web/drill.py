"""Drill-down: the allocated rows behind a cell of the month page, one page at a time, and one
line item's chain of reasons (`costalloc explain`).

A cell is a set of filters (environment, workstream, cost type, CapEx project and phase,
service, account, unallocated only), each checked here and handed to SQL as a bound parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import duckdb
import pyarrow as pa

from costalloc.allocation.explain import explain
from costalloc.allocation.model import RuleSet
from costalloc.core.period import BillingPeriod
from costalloc.sql import load

FILTERS = ("environment", "workstream", "cost_type", "project", "phase", "service", "account")
FILTER_NAMES = {"environment": "environment", "workstream": "workstream",
                "cost_type": "cost type", "project": "CapEx project", "phase": "phase",
                "service": "service", "account": "account"}
NO_PROJECT = "(none)"
PAGE_ROWS = 50
BATCH_ROWS = 50_000
_MAX_TEXT = 300
_TOTALS = ("x_cell_rows", "x_cell_billed_cost", "x_cell_effective_cost")


class FilterError(ValueError):
    """A drill-down parameter that can't be used."""


@dataclass(frozen=True)
class Cell:
    """Which allocated rows of a month and currency: every given filter must hold."""

    values: tuple[tuple[str, str], ...] = ()
    unallocated: bool = False

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Cell:
        values = []
        for name in FILTERS:
            value = params.get(name)
            if value is None or value == "":
                continue
            if len(value) > _MAX_TEXT:
                raise FilterError(f"`{name}` is longer than {_MAX_TEXT} characters")
            values.append((name, value))
        flag = params.get("unallocated", "")
        if flag not in ("", "0", "1"):
            raise FilterError("`unallocated` is 1 (only unallocated cost) or 0")
        return cls(tuple(values), flag == "1")

    def query(self) -> dict[str, str]:
        return {**dict(self.values), **({"unallocated": "1"} if self.unallocated else {})}

    def query_text(self) -> str:
        return urlencode(self.query())

    def describe(self) -> str:
        parts = [f"{FILTER_NAMES[name]} {value}" for name, value in self.values]
        if self.unallocated:
            parts.append("unallocated only")
        return ", ".join(parts) or "all allocated cost"

    def params(self, period: BillingPeriod, currency: str) -> dict[str, Any]:
        given = dict(self.values)
        return {"period": str(period), "currency": currency, "unallocated": self.unallocated,
                **{name: given.get(name) for name in FILTERS}}


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    count: int
    billed: Decimal
    effective: Decimal
    offset: int


def page(con: duckdb.DuckDBPyConnection, period: BillingPeriod, currency: str, cell: Cell,
         offset: int, limit: int = PAGE_ROWS) -> Page:
    """One page of the cell's rows (largest |BilledCost| first) and the cell's total."""
    relation = con.sql(load("reports/web_line_items"), params={
        **cell.params(period, currency), "limit": limit, "offset": offset})
    names = relation.columns
    rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    if rows:
        count, billed, effective = (rows[0][name] for name in _TOTALS)
    else:
        count, billed, effective = _total(con, period, currency, cell)
    return Page([{k: v for k, v in row.items() if k not in _TOTALS} for row in rows],
                int(count), Decimal(billed or 0), Decimal(effective or 0), offset)


def _total(con: duckdb.DuckDBPyConnection, period: BillingPeriod, currency: str,
           cell: Cell) -> tuple[int, Decimal, Decimal]:
    """The cell's total when the page asked for is past its last row."""
    rows = con.sql(load("reports/web_line_items"), params={
        **cell.params(period, currency), "limit": 1, "offset": 0}).fetchall()
    if not rows:
        return 0, Decimal(0), Decimal(0)
    return int(rows[0][-3]), Decimal(rows[0][-2]), Decimal(rows[0][-1])


def reader(con: duckdb.DuckDBPyConnection, period: BillingPeriod, currency: str,
           cell: Cell) -> pa.RecordBatchReader:
    """Every row of the cell, streamed, without the per-cell totals."""
    batches = con.sql(load("reports/web_line_items"), params={
        **cell.params(period, currency), "limit": None, "offset": 0}).to_arrow_reader(BATCH_ROWS)
    keep = [name for name in batches.schema.names if name not in _TOTALS]
    schema = pa.schema([batches.schema.field(name) for name in keep])
    return pa.RecordBatchReader.from_batches(schema, (batch.select(keep) for batch in batches))


@dataclass(frozen=True)
class Explained:
    """One line item: its facts, the `costalloc explain` text, and its allocated parts."""

    source: str
    line_item_id: int
    text: str
    parts: list[dict[str, Any]]


def explained(con: duckdb.DuckDBPyConnection, period: BillingPeriod, source: str,
              line_item_id: int, ruleset: RuleSet | None) -> Explained:
    """Raises `CostallocError` when there is no such line item."""
    text = explain(con, line_item_id, period, source, ruleset)
    relation = con.sql(load("allocation/explain_allocations"), params={
        "period": str(period), "line_item_id": line_item_id, "source": source})
    names = relation.columns
    parts = []
    for row in relation.fetchall():
        part = dict(zip(names, row, strict=True))
        details = json.loads(part["AllocatedMethodDetails"] or "{}")
        part["usage_unit"] = details.get("UsageUnit")
        parts.append(part)
    return Explained(source, line_item_id, text, parts)
