"""`python -m bench.large` (`make bench-large`): a 100M-line-item month on this machine.

Generates the hard month (`bench.hard_cur`, 100 Parquet files) in a folder of its own, loads
and allocates it once with `costalloc backfill` on a fresh warehouse, and reports the wall
time, the peak RSS of each process and the disk it took — data, warehouse and scratch
(staged parts, DuckDB's spill file), sampled every two seconds for the peak. It refuses to
start with less than 40 GB free there and deletes everything it wrote when it ends, however it
ends (`--keep` keeps it). Not part of `make bench`: it takes the better part of an hour.

    python -m bench.large                  # 100m
    python -m bench.large --rows 1m        # the plumbing, in a minute
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench import machine, measure
from bench.cases import Bench, costalloc_command, loaded_state
from bench.datasets import PERIOD, Dataset, parse_size
from bench.plans import HARD_RULES

BENCH_DIR = Path(__file__).parent
GB = 10**9
MIN_FREE_GB = 40
PEAK_RSS_LIMIT_MB = 2560  # issue 17: 2.5 GB for the 100M-row month, generating and loading


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rows = parse_size(args.rows)
    work = (args.data / f"large-{args.rows}").resolve()
    free_gb = _free_gb(args.data)
    if free_gb < args.min_free_gb:
        print(f"bench-large: {free_gb:.1f} GB free under {args.data.resolve()}, "
              f"{args.min_free_gb} GB needed; free some space (or pass --data elsewhere) and "
              "run again", file=sys.stderr)
        return 2
    if work.exists():
        shutil.rmtree(work)  # a run that was killed before it could clean up
    work.mkdir(parents=True)
    (work / ".gitignore").write_text("*\n")
    say(f"bench-large: {rows:,} line items in {work} ({free_gb:.0f} GB free)")
    try:
        results = _run(work, rows, args.runs)
        results["free_gb_at_start"] = round(free_gb, 1)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            say(f"bench-large: removed {work}")
    print(_render(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten: {args.out}")
    return 0


def _run(work: Path, rows: int, runs: int) -> dict[str, object]:
    described = machine.describe()
    say(f"on {machine.summary(described)}")
    bucket, warehouse_dir = work / "bucket", work / "warehouse"
    summary = work / "generated.json"
    disk = _DiskSampler({"data": bucket, "warehouse_and_scratch": warehouse_dir,
                         "prefect": work / "prefect"})
    disk.start()
    try:
        say("generating the month …")
        generated = measure.run([sys.executable, "-m", "bench.hard_cur", "--rows", str(rows),
                                 "--out", str(bucket), "--summary", str(summary)],
                                log=work / "logs" / "generate.log", cwd=BENCH_DIR.parent)
        written = json.loads(summary.read_text())
        say(f"  {generated.wall_s:.0f} s, {generated.peak_rss_mb:.0f} MB, "
            f"{written['bytes'] / GB:.1f} GB in {len(written['files'])} files")
        config = warehouse_dir / "costalloc.yaml"
        warehouse_dir.mkdir(parents=True)
        config.write_text(yaml.safe_dump({
            "warehouse": str(warehouse_dir / "costalloc.duckdb"), "rules": str(HARD_RULES),
            "reports_dir": str(work / "reports"),
            "sources": [{"name": "aws-bench", "kind": "aws-cur", "uri": written["export_dir"]}],
        }, sort_keys=False))
        bench = Bench(work, runs, say)
        say("Prefect's fixed start:")
        prefect_start = bench.measure_prefect_start()
        backfill = measure.Measured()
        for index in range(runs):
            for stale in warehouse_dir.glob("costalloc.duckdb*"):
                stale.unlink()
            say(f"costalloc backfill, run {index + 1}/{runs} …")
            backfill.runs.append(measure.run(
                [*costalloc_command(), "--config", str(config), "backfill", "--period", PERIOD],
                log=work / "logs" / f"backfill-{index}.log", env=bench.env, cwd=BENCH_DIR.parent))
            say(f"  {backfill.runs[-1].wall_s:.0f} s, {backfill.runs[-1].peak_rss_mb:.0f} MB")
        dataset = Dataset(name="large", kind="hard-cur2-parquet", rows=written["rows"],
                          export_dir=written["export_dir"], files=written["files"],
                          fingerprint=written["execution_id"],
                          billed_total=written["billed_total"], bytes=written["bytes"],
                          generated_in_s=round(generated.wall_s, 1), recipe={})
        checks = loaded_state(warehouse_dir / "costalloc.duckdb", dataset)
    finally:
        disk.stop()
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows, "machine": described,
        "generate": asdict(generated), "data_bytes": written["bytes"],
        "prefect_start": prefect_start.as_json(), "backfill": backfill.as_json(),
        "backfill_work_s": round(max(backfill.wall_s - prefect_start.wall_s, 0.0), 1),
        "disk_peak_bytes": disk.peak, "disk_final_bytes": disk.last,
        "checks": checks, "ties_out": checks["ties_out_to_export"],
    }


class _DiskSampler:
    """The bytes on disk under each folder (and their sum), every two seconds: the peaks."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders
        self.peak: dict[str, int] = {name: 0 for name in [*folders, "total"]}
        self.last: dict[str, int] = dict(self.peak)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="disk sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _loop(self) -> None:
        while not self._stop.wait(2.0):
            self._sample()

    def _sample(self) -> None:
        now = {name: _bytes_under(folder) for name, folder in self.folders.items()}
        now["total"] = sum(now.values())
        self.last = now
        self.peak = {name: max(self.peak[name], now[name]) for name in now}


def _bytes_under(folder: Path) -> int:
    """Allocated bytes of every file below `folder` (files may vanish while we walk)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                continue
    return total


def _free_gb(folder: Path) -> float:
    existing = folder.resolve()
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free / GB


def _render(results: dict[str, object]) -> str:
    backfill = results["backfill"]
    generate = results["generate"]
    peak, final = results["disk_peak_bytes"], results["disk_final_bytes"]
    assert isinstance(backfill, dict) and isinstance(generate, dict)
    assert isinstance(peak, dict) and isinstance(final, dict)
    rss = float(backfill["peak_rss_mb"])
    generate_rss = float(generate["peak_rss_mb"])
    lines = [
        f"bench-large: {results['rows']:,} line items (hard CUR 2.0, {PERIOD})",
        f"  generate           {generate['wall_s']:8.0f} s   peak RSS {generate['peak_rss_mb']:6.0f} MB",
        f"  costalloc backfill {backfill['wall_s']:8.0f} s   peak RSS {rss:6.0f} MB   "
        f"(work, wall − Prefect start: {results['backfill_work_s']} s)",
        f"  disk, peak during the run: {peak['total'] / GB:.1f} GB (data "
        f"{peak['data'] / GB:.1f}, warehouse and scratch {peak['warehouse_and_scratch'] / GB:.1f}"
        f", Prefect {peak['prefect'] / GB:.2f}); at the end: {final['total'] / GB:.1f} GB; "
        f"{results.get('free_gb_at_start', '?')} GB were free",
        f"  ties out to the export: {results['ties_out']}",
        f"[{'met' if rss <= PEAK_RSS_LIMIT_MB else 'MISSED':>6}] backfill peak RSS ≤ "
        f"{PEAK_RSS_LIMIT_MB} MB",
        f"[{'met' if generate_rss <= PEAK_RSS_LIMIT_MB else 'MISSED':>6}] generator peak RSS ≤ "
        f"{PEAK_RSS_LIMIT_MB} MB",
        f"[{'met' if peak['total'] <= MIN_FREE_GB * GB else 'MISSED':>6}] peak disk ≤ "
        f"{MIN_FREE_GB} GB",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.large", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="100m", help="line items in the month (default: 100m)")
    parser.add_argument("--runs", type=int, default=1, help="backfill runs (default: 1)")
    parser.add_argument("--data", type=Path, default=BENCH_DIR / "data",
                        help="where the month, the warehouse and the logs go (default: bench/data)")
    parser.add_argument("--min-free-gb", type=float, default=MIN_FREE_GB,
                        help=f"refuse to start with less free disk (default: {MIN_FREE_GB})")
    parser.add_argument("--keep", action="store_true", help="keep the month and the warehouse")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "large.json")
    return parser


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
