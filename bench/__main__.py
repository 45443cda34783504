"""`python -m bench` (`make bench`): generate the months once, time every step, print the table.

    python -m bench                      # both generators at 1m and 10m, CSV, legacy, workbook
    python -m bench --sizes 1m --hard-sizes 1m --runs 1   # a quick look
    python -m bench --quick              # the same, without the CUR 2.0 CSV month

The cases are built by `bench.plans`; the steps are `bench.cases.STEPS`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import datasets, machine, measure, report
from bench.cases import STEPS, Bench, Case
from bench.plans import WORKBOOK_ROWS, plans

BENCH_DIR = Path(__file__).parent


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:
        args.sizes, args.hard_sizes, args.csv_sizes, args.runs = "1m", "1m", "", 1
    skipped = frozenset(filter(None, args.skip.split(",")))
    unknown = skipped - set(STEPS)
    if unknown:
        raise SystemExit(f"--skip: unknown step(s) {', '.join(sorted(unknown))}; "
                         f"steps are {', '.join(STEPS)}")
    started = time.monotonic()
    described = machine.describe()
    say(f"costalloc bench on {machine.summary(described)}")
    if not measure.GNU_TIME.exists():
        say("/usr/bin/time is not installed (apt-get install -y time): measuring with os.wait4, "
            "which reports the same wall time, CPU and peak RSS")

    wanted = plans(sizes=_sizes(args.sizes), hard_sizes=_sizes(args.hard_sizes),
                   csv_sizes=_sizes(args.csv_sizes), legacy_sizes=_sizes(args.legacy_size),
                   workbook_rows=_sizes(args.workbook_rows), skip=skipped)
    say("data sets (generated once, then reused):")
    cases = []
    for plan in wanted:
        dataset = datasets.ensure(args.data, plan.kind, plan.rows, regenerate=args.regenerate)
        say(f"  {dataset.name}: {dataset.rows:,} rows in {len(dataset.files)} file(s), "
            f"{dataset.bytes / 2**20:,.0f} MB (generated in {dataset.generated_in_s:.0f} s)")
        cases.append(Case(dataset.name, dataset, plan.rules, plan.steps, plan.change))

    bench = Bench(args.data, args.runs, say, big_runs=args.big_runs)
    say("Prefect's fixed start:")
    prefect_start = bench.measure_prefect_start()
    for case in cases:
        say(f"{case.name}: {', '.join(case.steps)}")
        for step in case.steps:
            bench.run(case, step)

    table = report.rows(cases, prefect_start.wall_s)
    found = report.targets(cases, prefect_start.wall_s)
    print()
    print(report.render(table, found, prefect_start))
    results = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": described,
        "costalloc_settings": _settings(),
        "bench_minutes": round((time.monotonic() - started) / 60, 1),
        "prefect_start": prefect_start.as_json(),
        "table": table,
        "targets": [t.as_json() for t in found],
        "datasets": [asdict(c.dataset) for c in cases],
        "checks": {c.name: c.checks for c in cases},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten: {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1m,10m",
                        help="old generator's CUR 2.0 Parquet months, comma-separated "
                             "(default: 1m,10m; '' for none)")
    parser.add_argument("--hard-sizes", default="1m,10m",
                        help="hard generator's CUR 2.0 Parquet months (default: 1m,10m); the "
                             "largest is also re-run with nothing to do and reallocated")
    parser.add_argument("--csv-sizes", default="1m",
                        help="old generator's CUR 2.0 gzip CSV months (default: 1m; '' for none)")
    parser.add_argument("--legacy-size", default="1m",
                        help="legacy CUR gzip CSV month, also run through focus_converters "
                             "(default: 1m; '' for none)")
    parser.add_argument("--workbook-rows", default=datasets.size_label(WORKBOOK_ROWS),
                        help="hard month whose allocation `export allocated --format xlsx` "
                             f"writes (default: {datasets.size_label(WORKBOOK_ROWS)}, ~34k "
                             "allocated rows; '' for none)")
    parser.add_argument("--runs", type=int, default=3,
                        help="runs per measurement; the median wall time is reported (default: 3)")
    parser.add_argument("--big-runs", type=int, default=None,
                        help="runs for months of 10M line items or more (default: --runs); "
                             "each takes minutes")
    parser.add_argument("--quick", action="store_true",
                        help="one run; 1m months of both generators, legacy and workbook")
    parser.add_argument("--skip", default="",
                        help=f"comma-separated steps not to run: {', '.join(STEPS)}")
    parser.add_argument("--data", type=Path, default=BENCH_DIR / "data",
                        help="where data sets, warehouses and logs go (default: bench/data)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "latest.json")
    parser.add_argument("--regenerate", action="store_true", help="write the data sets again")
    return parser


def _settings() -> dict[str, object]:
    """The knobs that shape the measured runs (all at their defaults unless set here)."""
    from costalloc.connectors.files import BATCH_ROWS as READ_BATCH_ROWS
    from costalloc.warehouse.connection import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_VARIABLE

    return {"duckdb_memory_limit": os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT,
            "read_batch_rows": READ_BATCH_ROWS}


def _sizes(text: str) -> list[int]:
    return [datasets.parse_size(part) for part in text.split(",") if part.strip()]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
