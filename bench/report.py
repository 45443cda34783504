"""The results table, the targets of issue 17 (and the peer comparison of issue 8), and the JSON
written to `bench/results/`.

costalloc's "work" is its wall time minus Prefect's fixed start (a no-op flow, measured in
the same run) for the commands that run a flow, so that costalloc is compared with the floor
and the peer on the work alone; its wall time as a user sees it is in the table too. The
targets on line items are evaluated on the hard generator's months (`bench.hard_cur`), which
are at least as hard as real exports; the old generator's months are in the table beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import measure
from bench.cases import Case
from bench.datasets import size_label

PEER = "focus_converters"
MONTH_PAGE = "web month page"  # its wall time is the page's server time, not a process's
FLOWS = ("costalloc", "costalloc reallocate", "costalloc backfill no-op",
         "costalloc nightly no-op")  # commands that start Prefect: their work is wall − start
AGAINST_FLOOR = ("costalloc", "costalloc reallocate")
NO_RATE = ("costalloc backfill no-op", "costalloc nightly no-op", "costalloc export xlsx")
BIG = 10_000_000


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    limit: float
    unit: str
    at_most: bool = True  # False: the value must be at least `limit`
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def as_json(self) -> dict[str, object]:
        return {"target": self.name, "value": None if self.value is None else round(self.value, 3),
                "limit": self.limit, "unit": self.unit,
                "rule": "at most" if self.at_most else "at least", "met": self.met,
                "note": self.note}


def work_s(case: Case, tool: str, prefect_start_s: float) -> float:
    """Wall seconds of the tool's own work (Prefect's start taken off for costalloc's flows)."""
    wall = case.tools[tool].wall_s
    return max(wall - prefect_start_s, 0.0) if tool in FLOWS else wall


def rows(cases: list[Case], prefect_start_s: float) -> list[dict[str, object]]:
    """One row per (case, tool), with rows/s on the work and the ratios against the floor
    (costalloc ÷ baseline) and of the peer against costalloc (focus_converters ÷ costalloc)."""
    table = []
    for case in cases:
        baseline = case.tools.get("baseline")
        ours = "costalloc" if "costalloc" in case.tools else None
        for tool, measured in case.tools.items():
            work = work_s(case, tool, prefect_start_s)
            row: dict[str, object] = {
                "case": case.name, "tool": tool, "rows": case.dataset.rows,
                "wall_s": round(measured.wall_s, 2), "work_s": round(work, 2),
                # a run with nothing to do, the workbook and the month page (kept totals) read no
                # line item: no rate
                "rows_per_s": (round(case.dataset.rows / work)
                               if work and tool not in (*NO_RATE, MONTH_PAGE) else None),
                "cpu_s": round(measured.cpu_s, 2), "peak_rss_mb": round(measured.peak_rss_mb),
                "runs": len(measured.runs), "measured": measured.as_json(),
            }
            if tool in AGAINST_FLOOR and baseline is not None:
                row["costalloc_over_baseline"] = round(work / baseline.wall_s, 2)
            if tool == PEER and ours is not None:
                ours_work = work_s(case, ours, prefect_start_s)
                row["peer_over_costalloc_time"] = round(work / ours_work, 2) if ours_work else None
                row["peer_over_costalloc_rss"] = round(
                    measured.peak_rss_mb / case.tools[ours].peak_rss_mb, 2)
            table.append(row)
    return table


def targets(cases: list[Case], prefect_start_s: float) -> list[Target]:
    """Issue 17's targets (and issue 8's peer comparison), on the cases that were measured."""
    found = _hard_month_targets(cases, prefect_start_s)
    for case in cases:
        size = size_label(case.dataset.rows)
        if case.dataset.kind == "legacy-csv" and {"costalloc", "baseline"} <= set(case.tools):
            found.append(Target(f"legacy CUR gzip CSV {size}: costalloc work ÷ floor reading the "
                                "same gzip file", work_s(case, "costalloc", prefect_start_s)
                                / case.tools["baseline"].wall_s, 1.5, "×"))
        if case.dataset.kind == "legacy-csv" and {PEER, "costalloc"} <= set(case.tools):
            ours = work_s(case, "costalloc", prefect_start_s)
            found.append(Target(f"legacy CUR gzip CSV {size}: costalloc rows/s ÷ "
                                "focus_converters rows/s (issue 8)",
                                case.tools[PEER].wall_s / ours if ours else None, 10.0, "×",
                                at_most=False))
            found.append(Target(f"legacy CUR gzip CSV {size}: costalloc peak RSS ÷ "
                                "focus_converters peak RSS (issue 8)",
                                case.tools["costalloc"].peak_rss_mb / case.tools[PEER].peak_rss_mb,
                                0.25, "×"))
        if "costalloc export xlsx" in case.tools:
            allocated = case.checks.get("workbook", {})
            count = allocated.get("allocated_rows") if isinstance(allocated, dict) else None
            rows_text = f"{count:,}" if isinstance(count, int) else "?"
            found.append(Target(f"export allocated --format xlsx of {rows_text} allocated rows: "
                                "wall", case.tools["costalloc export xlsx"].wall_s, 5.0, "s"))
    return found


def _hard_month_targets(cases: list[Case], prefect_start_s: float) -> list[Target]:
    """On the largest hard month measured (10M line items in `make bench`)."""
    hard = sorted((c for c in cases if c.dataset.kind == "hard-cur2-parquet"
                   and "baseline" in c.tools), key=lambda c: c.dataset.rows)
    if not hard:
        return []
    big, small = hard[-1], hard[0]
    size = size_label(big.dataset.rows)
    note = "" if big.dataset.rows >= BIG else f"measured at {size}, not 10m"
    name = f"hard CUR 2.0 {size}"
    floor = big.tools["baseline"].wall_s
    found = []
    if "costalloc" in big.tools:
        found.append(Target(f"{name}: backfill work (wall − Prefect start) ÷ floor",
                            work_s(big, "costalloc", prefect_start_s) / floor, 3.0, "×", note=note))
        found.append(Target(f"{name}: backfill peak RSS (default memory limit)",
                            big.tools["costalloc"].peak_rss_mb, 2048, "MB", note=note))
    if big is not small and "costalloc" in big.tools and "costalloc" in small.tools:
        found.append(Target(
            f"hard CUR 2.0: backfill peak RSS {size} ÷ {size_label(small.dataset.rows)}",
            big.tools["costalloc"].peak_rss_mb / small.tools["costalloc"].peak_rss_mb, 1.3, "×"))
    if "costalloc reallocate" in big.tools:
        found.append(Target(f"{name}: reallocate work ÷ floor",
                            work_s(big, "costalloc reallocate", prefect_start_s) / floor, 1.5, "×",
                            note=note))
    for tool, what in (("costalloc backfill no-op", "backfill"),
                       ("costalloc nightly no-op", "nightly run")):
        if tool in big.tools:
            found.append(Target(f"{name} loaded: {what} with nothing to do: wall",
                                big.tools[tool].wall_s, 3.0, "s"))
    if MONTH_PAGE in big.tools:
        found.append(Target(f"{name}: web month page, server time of the first request",
                            big.tools[MONTH_PAGE].wall_s, 1.0, "s", note=note))
    return found


def render(table: list[dict[str, object]], found: list[Target],
           prefect_start: measure.Measured) -> str:
    header = ("case", "tool", "rows", "wall s", "work s", "rows/s", "peak RSS MB",
              "÷ baseline", "peer ÷ costalloc")
    lines = []
    for row in table:
        peer = ""
        if "peer_over_costalloc_time" in row:
            peer = (f"{row['peer_over_costalloc_time']}× time, "
                    f"{row['peer_over_costalloc_rss']}× RSS")
        lines.append((str(row["case"]), str(row["tool"]), f"{row['rows']:,}",
                      f"{row['wall_s']:.1f}", f"{row['work_s']:.1f}",
                      f"{row['rows_per_s']:,}" if row["rows_per_s"] else "-",
                      f"{row['peak_rss_mb']:,}",
                      f"{row['costalloc_over_baseline']}×" if "costalloc_over_baseline" in row
                      else "", peer))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           "-|-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.append("")
    out.append(f"Prefect's fixed start (no-op flow, median of {len(prefect_start.runs)}): "
               f"{prefect_start.wall_s:.1f} s, {prefect_start.peak_rss_mb:.0f} MB — taken off "
               "costalloc's wall time to give its work time.")
    out.append("")
    for target in found:
        mark = {True: "met", False: "MISSED", None: "n/a"}[target.met]
        value = "-" if target.value is None else f"{target.value:.2f} {target.unit}"
        rule = "≤" if target.at_most else "≥"
        note = f" ({target.note})" if target.note else ""
        out.append(f"[{mark:>6}] {target.name}: {value} ({rule} {target.limit:g} {target.unit})"
                   f"{note}")
    return "\n".join(out)
