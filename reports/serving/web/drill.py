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
from costalloc.sql import fill, load

FILTERS = ("environment", "workstream", "cost_type", "project", "phase", "service", "account")
FILTER_NAMES = {"environment": "environment", "workstream": "workstream",
                "cost_type": "cost type", "project": "CapEx project", "phase": "phase",
                "service": "service", "account": "account"}
NO_PROJECT = "(none)"
PAGE_ROWS = 50
BATCH_ROWS = 50_000
_MAX_TEXT = 300


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
    params = cell.params(period, currency)
    relation = con.sql(_with_cell("reports/web_line_items"),
                       params={**params, "limit": limit, "offset": offset})
    names = relation.columns
    rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    count, billed, effective = con.sql(_with_cell("reports/web_cell_total"),
                                       params=params).fetchall()[0]
    return Page(rows, int(count), Decimal(billed), Decimal(effective), offset)


def reader(con: duckdb.DuckDBPyConnection, period: BillingPeriod, currency: str,
           cell: Cell) -> pa.RecordBatchReader:
    """Every row of the cell, streamed as it is read (unordered)."""
    return con.sql(_with_cell("reports/web_cell_rows"),
                   params=cell.params(period, currency)).to_arrow_reader(BATCH_ROWS)


def _with_cell(statement: str) -> str:
    return fill(load(statement), cell=load("reports/web_cell_allocated"),
                rows=fill(load("reports/web_cell_rows"), cell="select * from page"))


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
