"""The CapEx/OpEx policy: cost is OpEx unless a capitalization entry matches it, in a phase
marked `capitalize: true` with an approval reference, during that phase's dates. Pure.

Following the AI-budgeting guidance this product serves: experiments, cloud consumption,
production support, retraining and monitoring are OpEx; the development of a durable,
controlled asset may be capitalized — only with evidence, which travels with every row.
"""

from __future__ import annotations

import polars as pl

from costalloc.allocation.conditions import compile_condition
from costalloc.allocation.model import Capitalization, Phase, RuleSet
from costalloc.core.focus import ASSET_ROW_TYPES

CAPEX_COLUMNS = ("x_capex_project", "x_capex_phase", "x_capex_approval", "x_useful_life_months")


def apply_capitalization(frame: pl.LazyFrame, ruleset: RuleSet) -> pl.LazyFrame:
    """Set `cost_type` to capex where an approved development phase covers the row, and record
    the project and phase (capitalized or not) on every row a project matches."""
    project: pl.Expr = pl.lit(None, dtype=pl.String)
    phase: pl.Expr = pl.lit(None, dtype=pl.String)
    approval: pl.Expr = pl.lit(None, dtype=pl.String)
    life: pl.Expr = pl.lit(None, dtype=pl.Int32)
    # Last entry first, so the first matching project wins.
    for entry in reversed(ruleset.capitalization):
        matches = compile_condition(entry.when, ruleset, tag_columns=True)  # see engine
        for step in reversed(entry.phases):
            hit = matches & step.window().covers()
            project = pl.when(hit).then(pl.lit(entry.project)).otherwise(project)
            phase = pl.when(hit).then(pl.lit(step.phase)).otherwise(phase)
            approval = pl.when(hit).then(pl.lit(step.approval if step.capitalize else None,
                                                dtype=pl.String)).otherwise(approval)
            life = pl.when(hit).then(pl.lit(_life(entry, step), dtype=pl.Int32)).otherwise(life)
    if "x_line_item_type" in frame.collect_schema():
        # On-premises assets: the register is the evidence (connectors/assets).
        asset = pl.col("x_line_item_type").is_in(ASSET_ROW_TYPES).fill_null(False)
        project = pl.when(asset).then(pl.lit("asset:") + pl.col("ResourceId")).otherwise(project)
        phase = pl.when(asset).then(pl.lit("in service")).otherwise(phase)
        approval = pl.when(asset).then(pl.lit("asset register `") + pl.col("x_source")
                                       + pl.lit("`")).otherwise(approval)
    framed = frame.with_columns(project.alias("x_capex_project"), phase.alias("x_capex_phase"),
                                approval.alias("x_capex_approval"),
                                life.alias("x_useful_life_months"))
    capitalized = pl.col("x_capex_approval").is_not_null()
    return framed.with_columns(
        pl.when(capitalized).then(pl.lit("capex")).otherwise(pl.col("cost_type"))
        .alias("cost_type"),
        pl.when(capitalized).then(pl.lit("capitalization:") + pl.col("x_capex_project"))
        .otherwise(pl.col("x_cost_type_rule")).alias("x_cost_type_rule"),
    )


def _life(entry: Capitalization, step: Phase) -> int | None:
    return entry.life(step) if step.capitalize else None

