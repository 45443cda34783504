"""The measured steps: each tool on each data set, as whole processes, several runs each.

costalloc runs through its command line exactly as a user runs it (`costalloc --config …
backfill --period 2026-10` on a fresh warehouse each run), so its times include Prefect's
start; that fixed cost is measured on its own (a no-op flow) and subtracted to compare work.

`STEPS` names every step a plan (`bench.plans`) can ask for; a new kind of measurement is a
method here and an entry there. Steps after `backfill` work on the warehouse it left.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import yaml

from bench import measure, peer
from bench.datasets import PERIOD, Dataset

BENCH_DIR = Path(__file__).parent
BIG_ROWS = 10_000_000
Say = Callable[[str], None]


@dataclass(frozen=True)
class RuleChange:
    """A new rules version for `reallocate`: rule `rule` sets `to` instead."""

    rule: str
    to: Mapping[str, str]


@dataclass
class Case:
    """One data set, the rules it is allocated with, and what each tool measured on it."""

    name: str
    dataset: Dataset
    rules: Path
    steps: tuple[str, ...]
    change: RuleChange | None = None  # for the `reallocate` step
    tools: dict[str, measure.Measured] = field(default_factory=dict)
    checks: dict[str, object] = field(default_factory=dict)
    config: Path | None = None  # written by the `backfill` step


@dataclass
class Bench:
    data_dir: Path
    runs: int
    say: Say
    big_runs: int | None = None  # runs for months of 10M line items or more (minutes each)
    prefect_start: measure.Measured | None = None

    def runs_for(self, case: Case) -> int:
        big = case.dataset.rows >= BIG_ROWS and self.big_runs is not None
        return self.big_runs if big and self.big_runs is not None else self.runs

    @property
    def env(self) -> dict[str, str]:
        """What the CLI sets for itself, plus a Prefect home of the bench's own."""
        return {"PREFECT_HOME": str(self.data_dir / "prefect"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
                "PREFECT_LOGGING_LEVEL": "CRITICAL",
                "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore"}

    def measure_prefect_start(self) -> measure.Measured:
        logs = self.data_dir / "logs"
        command = [sys.executable, "-m", "bench.noop"]
        measure.run(command, log=logs / "prefect-warm-up.log", env=self.env, cwd=_repo())
        measured = self._repeat("prefect no-op flow", command, logs / "prefect-start", self.runs)
        self.prefect_start = measured
        return measured

    def baseline(self, case: Case) -> None:
        out = self._work_dir(case) / "baseline.duckdb"
        command = [sys.executable, "-m", "bench.baseline", "--kind", case.dataset.kind,
                   "--out", str(out), *case.dataset.files]
        case.tools["baseline"] = self._repeat(f"{case.name}: baseline (DuckDB)", command,
                                              self._work_dir(case) / "baseline",
                                              self.runs_for(case))
        out.unlink(missing_ok=True)

    def run(self, case: Case, step: str) -> None:
        if step not in STEPS:
            raise ValueError(f"step `{step}`: expected one of {', '.join(STEPS)}")
        STEPS[step](self, case)

    def costalloc_backfill(self, case: Case) -> None:
        """End to end on a fresh warehouse each run; the last run's warehouse stays."""
        config = self._config(case, case.rules)
        warehouse = config.parent / "costalloc.duckdb"
        command = [*costalloc_command(), "--config", str(config), "backfill", "--period", PERIOD]
        measured = measure.Measured()
        runs = self.runs_for(case)
        for index in range(runs):
            for stale in config.parent.glob("costalloc.duckdb*"):
                stale.unlink()
            self.say(f"  {case.name}: costalloc backfill, run {index + 1}/{runs} …")
            measured.runs.append(measure.run(command, log=config.parent / f"costalloc-{index}.log",
                                             env=self.env, cwd=_repo()))
            self.say(f"    {measured.runs[-1].wall_s:.1f} s, {measured.runs[-1].peak_rss_mb:.0f} MB")
        case.tools["costalloc"] = measured
        case.checks = loaded_state(warehouse, case.dataset)
        case.config = config

    def noop_backfill(self, case: Case) -> None:
        """`backfill` again on the loaded month: nothing to load, nothing to allocate."""
        self._nothing_to_do(case, "backfill", "costalloc backfill no-op")

    def noop_nightly(self, case: Case) -> None:
        """The nightly job (`run`) again on the loaded month: nothing to do either."""
        self._nothing_to_do(case, "run", "costalloc nightly no-op")

    def _nothing_to_do(self, case: Case, command_name: str, tool: str) -> None:
        config = _loaded_config(case)
        command = [*costalloc_command(), "--config", str(config), command_name, "--period", PERIOD]
        case.tools[tool] = self._repeat(f"{case.name}: costalloc {command_name} (nothing to do)",
                                        command, config.parent / tool.replace(" ", "-"),
                                        self.runs_for(case))

    def export_xlsx(self, case: Case) -> None:
        """The finance workbook of the loaded month's allocated rows."""
        config = _loaded_config(case)
        out = config.parent / "workbook"
        command = [*costalloc_command(), "--config", str(config), "export", "allocated", "--period",
                   PERIOD, "--format", "xlsx", "--out", str(out)]
        case.tools["costalloc export xlsx"] = self._repeat(
            f"{case.name}: costalloc export allocated --format xlsx", command,
            config.parent / "export-xlsx", self.runs_for(case))
        workbooks = sorted(out.glob("*.xlsx"))
        if not workbooks:
            raise measure.CommandFailed(f"{out}: `costalloc export` wrote no workbook")
        case.checks["workbook"] = {"file": workbooks[-1].name,
                                   "bytes": workbooks[-1].stat().st_size,
                                   "allocated_rows": _allocated_rows(config.parent)}

    def reallocate(self, case: Case) -> None:
        """Re-apply a changed rules file to the loaded month (no source is read)."""
        config = _loaded_config(case)
        if case.change is None:
            raise ValueError(f"{case.name}: `reallocate` needs the plan's rule change")
        changed = config.parent / "costalloc-changed.yaml"
        changed.write_text(config.read_text().replace(str(case.rules), str(_changed_rules(
            case.rules, case.change, config.parent))))
        command = [*costalloc_command(), "--config", str(changed), "reallocate", "--period", PERIOD]
        case.tools["costalloc reallocate"] = self._repeat(
            f"{case.name}: costalloc reallocate (rules changed)", command,
            config.parent / "reallocate", self.runs_for(case))
        warehouse = config.parent / "costalloc.duckdb"
        case.checks["reallocated"] = _allocation_state(warehouse)

    def month_page(self, case: Case) -> None:
        """The web view's month page over the loaded month: each run a fresh process whose first
        request is timed on the server (`bench.month_page`); the wall time recorded is that
        server time, the peak RSS the process's."""
        config = _loaded_config(case)
        measured = measure.Measured()
        runs = self.runs_for(case)
        for index in range(runs):
            result = config.parent / f"month-page-{index}.json"
            self.say(f"  {case.name}: web month page, run {index + 1}/{runs} …")
            process = measure.run([sys.executable, "-m", "bench.month_page", "--config",
                                   str(config), "--period", PERIOD, "--out", str(result)],
                                  log=config.parent / f"month-page-{index}.log", env=self.env,
                                  cwd=_repo())
            times = json.loads(result.read_text())["server_ms"]
            measured.runs.append(measure.Run(times[0] / 1000, process.user_s, process.system_s,
                                             process.peak_rss_mb, "Server-Timing"))
            pages = case.checks.setdefault("month_page_server_ms", [])
            assert isinstance(pages, list)
            pages.append(times)
            self.say(f"    first request {times[0]:.0f} ms, then "
                     f"{', '.join(f'{t:.0f}' for t in times[1:])} ms")
        case.tools["web month page"] = measured

    def focus_converters(self, case: Case) -> None:
        work = self._work_dir(case)
        executable = peer.ensure_installed(work / "focus-converter-install.log")
        export = work / "focus-converter-out"
        measured = measure.Measured()
        runs = self.runs_for(case)
        for index in range(runs):
            shutil.rmtree(export, ignore_errors=True)
            self.say(f"  {case.name}: focus_converters, run {index + 1}/{runs} …")
            command = peer.convert_command(executable, Path(case.dataset.files[0]), export)
            measured.runs.append(measure.run(command, log=work / f"focus-converter-{index}.log",
                                             cwd=work))
            self.say(f"    {measured.runs[-1].wall_s:.1f} s, {measured.runs[-1].peak_rss_mb:.0f} MB")
        shutil.rmtree(export, ignore_errors=True)
        case.tools["focus_converters"] = measured

    def _repeat(self, label: str, command: list[str], log_stem: Path, runs: int) -> measure.Measured:
        measured = measure.Measured()
        for index in range(runs):
            self.say(f"  {label}, run {index + 1}/{runs} …")
            measured.runs.append(measure.run(command, log=log_stem.with_name(
                f"{log_stem.name}-{index}.log"), env=self.env, cwd=_repo()))
            self.say(f"    {measured.runs[-1].wall_s:.1f} s, {measured.runs[-1].peak_rss_mb:.0f} MB")
        return measured

    def _work_dir(self, case: Case) -> Path:
        folder = self.data_dir / "runs" / case.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _config(self, case: Case, rules: Path) -> Path:
        folder = self._work_dir(case)
        config = folder / "costalloc.yaml"
        config.write_text(yaml.safe_dump({
            "warehouse": str(folder / "costalloc.duckdb"),
            "rules": str(rules),
            "reports_dir": str(folder / "reports"),
            "sources": [{"name": "aws-bench", "kind": "aws-cur", "uri": case.dataset.export_dir}],
        }, sort_keys=False))
        return config


def _repo() -> Path:
    return BENCH_DIR.parent


def costalloc_command() -> list[str]:
    script = Path(sys.executable).parent / "costalloc"
    return [str(script)] if script.exists() else [sys.executable, "-m", "costalloc.flows.cli"]


def _loaded_config(case: Case) -> Path:
    if case.config is None:
        raise ValueError(f"{case.name}: this step needs the `backfill` step before it")
    return case.config


def _changed_rules(path: Path, change: RuleChange, folder: Path) -> Path:
    """The rules file with one rule setting something else (a new rules version)."""
    rules = yaml.safe_load(path.read_text())
    moved = [rule for rule in rules["rules"] if rule["id"] == change.rule]
    if len(moved) != 1:
        raise ValueError(f"{path}: expected one rule `{change.rule}` to change")
    moved[0]["set"] = dict(change.to)
    for split in rules.get("splits", []):
        if "driver" in split:
            split["driver"]["file"] = str(BENCH_DIR / split["driver"]["file"])
    changed = folder / "rules-changed.yaml"
    changed.write_text(yaml.safe_dump(rules, sort_keys=False))
    return changed


def loaded_state(warehouse: Path, dataset: Dataset) -> dict[str, object]:
    """What the last run left in the warehouse, to show the timed run did the whole job."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        line_items, billed = con.sql(
            "select count(*), sum(BilledCost)::varchar from line_items "
            "where x_billing_period = $p", params={"p": PERIOD}).fetchall()[0]
    finally:
        con.close()
    state = _allocation_state(warehouse)
    if not line_items or state.get("allocation") != "published":
        raise measure.CommandFailed(f"{warehouse}: the timed run left {line_items} line items "
                                    f"and allocation `{state.get('allocation')}` for {PERIOD}")
    return {"line_items": line_items, "billed_cost": billed,
            "ties_out_to_export": billed is not None
            and Decimal(billed) == Decimal(dataset.billed_total), **state}


def _allocation_state(warehouse: Path) -> dict[str, object]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.sql("select status, rules_version, line_item_rows, allocated_rows, totals "
                       "from allocation_log where billing_period = $p order by finished_at desc "
                       "limit 1", params={"p": PERIOD}).fetchall()
        split = con.sql("select count(distinct x_line_item_id) filter (where x_split_rule is not "
                        "null) from allocated_costs where x_billing_period = $p",
                        params={"p": PERIOD}).fetchall()[0][0]
    finally:
        con.close()
    if not rows:
        return {"allocation": "none"}
    status, version, line_items, allocated, totals = rows[0]
    return {"allocation": status, "rules_version": version, "allocated_line_items": line_items,
            "allocated_rows": allocated, "allocated_totals": json.loads(totals),
            "split_line_items": split,
            "split_share_of_line_items": round(split / line_items, 4) if line_items else None}


def _allocated_rows(folder: Path) -> int:
    con = duckdb.connect(str(folder / "costalloc.duckdb"), read_only=True)
    try:
        return int(con.sql("select count(*) from allocated_costs where x_billing_period = $p",
                           params={"p": PERIOD}).fetchall()[0][0])
    finally:
        con.close()


STEPS: dict[str, Callable[[Bench, Case], None]] = {
    "baseline": Bench.baseline,
    "backfill": Bench.costalloc_backfill,
    "noop-backfill": Bench.noop_backfill,
    "noop-nightly": Bench.noop_nightly,
    "reallocate": Bench.reallocate,
    "export-xlsx": Bench.export_xlsx,
    "web": Bench.month_page,
    "peer": Bench.focus_converters,
}
