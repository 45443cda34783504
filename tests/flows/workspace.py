"""A costalloc workspace in a temporary folder: configuration, rules, CUR deliveries in AWS's
layout (written by the project's own generator) and read-only looks into the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.fs as pafs
import yaml

from costalloc.demo.aws_cur import WrittenDelivery, write_cur2_export

RULES = """\
normalize: {keys: {environment: [env]}, values: {environment: {prod: production, prd: production,
  stg: staging, dev: development}}}
rules:
  - id: env-from-tag
    when: {tag.environment: present}
    set: {environment: "{tag.environment}"}
defaults: {cost_type: opex}
"""


@dataclass
class Workspace:
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "w.duckdb"

    def configure(self, sources: list[dict[str, Any]], **extra: Any) -> Path:
        (self.root / "rules.yaml").write_text(RULES)
        config = self.root / "costalloc.yaml"
        config.write_text(yaml.safe_dump({"warehouse": "w.duckdb", "rules": "rules.yaml",
                                          "sources": sources, **extra}, sort_keys=False))
        return config

    def deliver(self, export: str, period: str, rows: int, seed: int) -> WrittenDelivery:
        """A CUR 2.0 delivery of `export` under `bucket/cur/` (a newer one supersedes it)."""
        return write_cur2_export(pafs.LocalFileSystem(), str(self.root / "bucket" / "cur"),
                                 bucket="b", prefix="cur", export_name=export, period=period,
                                 rows=rows, seed=seed)

    def export_uri(self, export: str) -> str:
        return f"bucket/cur/{export}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.sql(sql).fetchall()
        finally:
            con.close()

    def loaded(self) -> dict[tuple[str, str], Decimal]:
        """(source, period) → billed cost in `line_items`; fails on a line item held twice."""
        rows = self.query("select x_source, x_billing_period, count(*), "
                          "count(distinct x_line_item_id), sum(BilledCost) "
                          "from line_items group by 1, 2")
        assert all(n == distinct for _, _, n, distinct, _ in rows), rows
        return {(s, p): total for s, p, _, _, total in rows}

    def allocated(self) -> dict[str, Decimal]:
        rows = self.query("select x_billing_period, sum(BilledCost) from allocated_costs "
                          "group by 1")
        return {p: total for p, total in rows}

    def load_count(self) -> dict[tuple[str, str], int]:
        """How many times each (source, period) was loaded (`ingest_log`, status loaded)."""
        rows = self.query("select source, billing_period, count(*) from ingest_log "
                          "where status = 'loaded' group by 1, 2")
        return {(s, p): int(n) for s, p, n in rows}
