"""The results table, the targets of issue 8, and the JSON written to `bench/results/`.

costalloc's "work" is its wall time minus Prefect's fixed start (a no-op flow, measured in
the same run), so that costalloc is compared with the floor and the peer on the work alone;
its wall time as a user sees it is in the table too.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import measure
from bench.cases import Case
from bench.datasets import size_label

PEER = "focus_converters"
MONTH_PAGE = "web month page"  # its wall time is the page's server time, not a process's


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
    """Wall seconds of the tool's own work (Prefect's start taken off for costalloc)."""
    wall = case.tools[tool].wall_s
    return max(wall - prefect_start_s, 0.0) if tool.startswith("costalloc") else wall


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
                # an unchanged re-run reads no line item and the month page reads kept totals:
                # neither has a rate
                "rows_per_s": (round(case.dataset.rows / work)
                               if work and tool not in ("costalloc rerun", MONTH_PAGE) else None),
                "cpu_s": round(measured.cpu_s, 2), "peak_rss_mb": round(measured.peak_rss_mb),
                "runs": len(measured.runs), "measured": measured.as_json(),
            }
            if tool.startswith("costalloc") and baseline is not None:
                row["costalloc_over_baseline"] = round(work / baseline.wall_s, 2)
            if tool == PEER and ours is not None:
                ours_work = work_s(case, ours, prefect_start_s)
                row["peer_over_costalloc_time"] = round(work / ours_work, 2) if ours_work else None
                row["peer_over_costalloc_rss"] = round(
                    measured.peak_rss_mb / case.tools[ours].peak_rss_mb, 2)
            table.append(row)
    return table


def targets(cases: list[Case], prefect_start_s: float) -> list[Target]:
    """Issue 8's numbers, evaluated on the largest CUR 2.0 Parquet month that was measured."""
    parquet = sorted((c for c in cases if c.dataset.kind == "cur2-parquet"),
                     key=lambda c: c.dataset.rows)
    found: list[Target] = []
    if parquet:
        big, small = parquet[-1], parquet[0]
        size = size_label(big.dataset.rows)
        note = "" if big.dataset.rows >= 10_000_000 else f"measured at {size}, not 10m"
        if {"costalloc", "baseline"} <= set(big.tools):
            found.append(Target(f"CUR 2.0 Parquet {size}: costalloc work ÷ baseline wall",
                                work_s(big, "costalloc", prefect_start_s)
                                / big.tools["baseline"].wall_s, 3.0, "×", note=note))
            found.append(Target(f"CUR 2.0 Parquet {size}: costalloc peak RSS",
                                big.tools["costalloc"].peak_rss_mb, 2048, "MB", note=note))
        if big is not small and "costalloc" in big.tools and "costalloc" in small.tools:
            found.append(Target(
                f"peak RSS {size} ÷ peak RSS {size_label(small.dataset.rows)} (costalloc)",
                big.tools["costalloc"].peak_rss_mb / small.tools["costalloc"].peak_rss_mb, 1.3,
                "×"))
        if "costalloc rerun" in big.tools:
            found.append(Target("re-run on unchanged sources: wall − Prefect start",
                                work_s(big, "costalloc rerun", prefect_start_s), 2.0, "s"))
        if {"costalloc reallocate", "baseline"} <= set(big.tools):
            found.append(Target(f"reallocate {size} after a rules change ÷ baseline wall",
                                work_s(big, "costalloc reallocate", prefect_start_s)
                                / big.tools["baseline"].wall_s, 1.5, "×", note=note))
        if MONTH_PAGE in big.tools:
            found.append(Target(f"web month page of the {size} month: server time of the first "
                                "request", big.tools[MONTH_PAGE].wall_s, 1.0, "s", note=note))
    for case in cases:
        if case.dataset.kind == "legacy-csv" and {PEER, "costalloc"} <= set(case.tools):
            ours = work_s(case, "costalloc", prefect_start_s)
            found.append(Target(f"legacy CUR CSV {size_label(case.dataset.rows)}: costalloc "
                                "rows/s ÷ focus_converters rows/s",
                                case.tools[PEER].wall_s / ours if ours else None, 10.0, "×",
                                at_most=False))
            found.append(Target(f"legacy CUR CSV {size_label(case.dataset.rows)}: costalloc "
                                "peak RSS ÷ focus_converters peak RSS",
                                case.tools["costalloc"].peak_rss_mb / case.tools[PEER].peak_rss_mb,
                                0.25, "×"))
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
