"""What `make bench` measures: the cases, each a data set, its rules and the steps run on it.

`plans` builds the list from the command line's sizes. To measure something new, add a step
to `cases.STEPS` and name it in a plan here (or add a plan of its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.cases import RuleChange
from bench.datasets import Kind

BENCH_DIR = Path(__file__).parent
RULES = BENCH_DIR / "rules.yaml"  # the old cases' rules (the demo generator's months)
HARD_RULES = BENCH_DIR / "rules-hard.yaml"
# reallocate: a new rules version that moves one rule's line items to another workstream
OLD_CHANGE = RuleChange("ws-project-forecasting", {"workstream": "platform_build"})
HARD_CHANGE = RuleChange("build-projects", {"workstream": "production_operations"})
# a hard month whose allocation has ~34k rows: the workbook size issue 17 timed
WORKBOOK_ROWS = 26_000
# measured on the largest hard month only: each is minutes at 10M line items
LARGEST_ONLY = ("noop-backfill", "noop-nightly", "reallocate", "web")


@dataclass(frozen=True)
class Plan:
    kind: Kind
    rows: int
    rules: Path
    steps: tuple[str, ...]
    change: RuleChange | None = None


def plans(*, sizes: Sequence[int], hard_sizes: Sequence[int], csv_sizes: Sequence[int],
          legacy_sizes: Sequence[int], workbook_rows: Sequence[int],
          skip: frozenset[str] = frozenset()) -> list[Plan]:
    """Old generator: CUR 2.0 Parquet and CSV months and a legacy CUR month (with the peer);
    hard generator: its months (the largest also re-run with nothing to do and reallocated)
    and a small month for the workbook."""
    found = [Plan("cur2-parquet", n, RULES, ("baseline", "backfill")) for n in sizes]
    found += [Plan("cur2-csv", n, RULES, ("baseline", "backfill")) for n in csv_sizes]
    found += [Plan("legacy-csv", n, RULES, ("baseline", "backfill", "peer")) for n in legacy_sizes]
    largest = max(hard_sizes, default=None)
    found += [Plan("hard-cur2-parquet", n, HARD_RULES,
                   ("baseline", "backfill", *(LARGEST_ONLY if n == largest else ()),
                    *(("export-xlsx",) if n in workbook_rows else ())), HARD_CHANGE)
              for n in hard_sizes]
    found += [Plan("hard-cur2-parquet", n, HARD_RULES, ("backfill", "export-xlsx"))
              for n in workbook_rows if n not in hard_sizes]
    return [Plan(p.kind, p.rows, p.rules, tuple(s for s in p.steps if s not in skip), p.change)
            for p in found]
