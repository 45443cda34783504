"""Write the hard month as AWS delivers a CUR 2.0 export: Parquet parts, then the manifest.

    <root>/<export>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet …
    <root>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json

`root` stands for `s3://<bucket>/<prefix>`; the manifest names the parts by their full `s3://`
URI, as AWS's does, and is written last. Batch by batch: at most `batch_rows` rows are in
memory, so a 100M-row month takes as little memory as a 1M-row one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from bench.hard_cur import catalogue, columns
from bench.hard_cur.rows import Month, Totals, batch

BATCH_ROWS = 100_000  # also the Parquet row group


@dataclass(frozen=True)
class WrittenMonth:
    export_dir: Path  # the export's own folder: costalloc's `uri`
    manifest: Path
    data_files: tuple[Path, ...]
    execution_id: str
    totals: Totals


def write_month(root: Path, *, bucket: str, prefix: str, export_name: str, period: str,
                rows: int, parts: int, seed: int, batch_rows: int = BATCH_ROWS) -> WrittenMonth:
    """`rows` line items of `period` in `parts` files under `root` (a local copy of the bucket)."""
    if rows < 1 or parts < 1 or parts > rows:
        raise ValueError(f"rows {rows}, parts {parts}: need 1 ≤ parts ≤ rows")
    month = Month(period, seed)
    execution_id = _stable_uuid("hard-cur", bucket, prefix, export_name, period, rows, parts, seed)
    export_dir = root / export_name
    data_dir = export_dir / "data" / f"BILLING_PERIOD={period}"
    data_dir.mkdir(parents=True, exist_ok=True)
    totals = Totals()
    files = []
    for number, (first, count) in enumerate(_part_ranges(rows, parts), start=1):
        path = data_dir / f"{export_name}-{number:05d}.snappy.parquet"
        with pq.ParquetWriter(path, columns.SCHEMA, compression="snappy") as writer:
            for start in range(first, first + count, batch_rows):
                table, written = batch(month, start, min(batch_rows, first + count - start))
                writer.write_table(table, row_group_size=batch_rows)
                totals.add(written)
        files.append(path)
    manifest = export_dir / "metadata" / f"BILLING_PERIOD={period}" / f"{export_name}-Manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    base = f"s3://{bucket}/{prefix}/{export_name}/data/BILLING_PERIOD={period}"
    manifest.write_text(json.dumps({
        "executionId": execution_id,
        "exportArn": (f"arn:aws:bcm-data-exports:us-east-1:{catalogue.PAYER_ACCOUNT_ID}:export/"
                      f"{export_name}-{_stable_uuid('export', bucket, prefix, export_name)}"),
        "billingPeriod": {"start": f"{month.start:%Y-%m-%dT%H:%M:%S}.000Z",
                          "end": f"{month.end:%Y-%m-%dT%H:%M:%S}.000Z"},
        "columns": columns.manifest_columns(),
        "dataFiles": [f"{base}/{path.name}" for path in files],
        "additionalOutputFiles": [],
    }, indent=2) + "\n")
    return WrittenMonth(export_dir, manifest, tuple(files), execution_id, totals)


def _part_ranges(rows: int, parts: int) -> list[tuple[int, int]]:
    sizes = [rows // parts + (1 if i < rows % parts else 0) for i in range(parts)]
    return [(sum(sizes[:i]), size) for i, size in enumerate(sizes)]


def _stable_uuid(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
