"""`python -m bench.hard_cur`: write one hard month into a folder that stands for a bucket.

    python -m bench.hard_cur --rows 1m --out /tmp/bucket     # then point costalloc at
                                                             # /tmp/bucket/cur/acme-cur2-hard
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.datasets import BUCKET, HARD_EXPORT, HARD_ROWS_PER_PART, PREFIX, parse_size
from bench.hard_cur import write_month


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hard_cur", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", required=True, help="line items, e.g. 100k, 10m, 100m")
    parser.add_argument("--out", required=True, type=Path, help="the bucket's local folder")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--summary", type=Path, help="also write what was written, as JSON")
    args = parser.parse_args(argv)
    rows = parse_size(args.rows)
    written = write_month(args.out / PREFIX, bucket=BUCKET, prefix=PREFIX,
                          export_name=HARD_EXPORT, period=args.period, rows=rows,
                          parts=max(1, -(-rows // HARD_ROWS_PER_PART)), seed=args.seed)
    summary = {"export_dir": str(written.export_dir), "manifest": str(written.manifest),
               "files": [str(f) for f in written.data_files],
               "bytes": sum(f.stat().st_size for f in written.data_files),
               "rows": written.totals.rows, "billed_total": str(written.totals.billed),
               "execution_id": written.execution_id, "line_item_types": written.totals.by_type}
    text = json.dumps(summary, indent=2) + "\n"
    if args.summary:
        args.summary.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
