"""The benchmark's billing months, written once and reused.

Two generators: the project's own (`costalloc.demo.aws_cur`: `cur2-parquet`, `cur2-csv`,
`legacy-csv`, the "old" cases) and the bench's harder one (`bench.hard_cur`:
`hard-cur2-parquet`). Each data set is a local copy of a bucket in AWS's own layout (manifest
included) under `bench/data/<name>/`, with `dataset.json` saying how it was made; a data set
whose recipe matches is reused as is (`--regenerate` writes it again).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow.fs as pafs

from bench.hard_cur import write_month
from costalloc.demo.aws_cur import write_cur2_export, write_legacy_cur

Kind = Literal["cur2-parquet", "cur2-csv", "legacy-csv", "hard-cur2-parquet"]
KINDS: tuple[Kind, ...] = ("cur2-parquet", "cur2-csv", "legacy-csv", "hard-cur2-parquet")
PARQUET_KINDS: tuple[Kind, ...] = ("cur2-parquet", "hard-cur2-parquet")
PERIOD = "2026-10"
SEED = 2026
BUCKET = "acme-billing"
PREFIX = "cur"
EXPORT = "acme-cur2"
HARD_EXPORT = "acme-cur2-hard"
REPORT = "acme-legacy-cur"
ROWS_PER_PART = 2_000_000  # CUR 2.0 splits a month into parts; ours are ~150 MB of Parquet
HARD_ROWS_PER_PART = 1_000_000  # 10 files for 10M rows, as the export issue 17 measured
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: Kind
    rows: int  # rows in the provider's files
    export_dir: str  # the export's (or report's) own folder: costalloc's `uri`
    files: list[str]  # the data files of the delivery, absolute
    fingerprint: str
    billed_total: str  # the export's own cost total (USD)
    bytes: int
    generated_in_s: float
    recipe: dict[str, object]


def parse_size(text: str) -> int:
    """`1m` → 1,000,000; `250k` → 250,000; `5000` → 5,000."""
    match = _SIZE.match(text.strip().lower())
    if match is None:
        raise ValueError(f"size `{text}`: expected a number with an optional k or m, like 1m")
    number, unit = match.groups()
    return int(float(number) * {"": 1, "k": 1_000, "m": 1_000_000}[unit])


def size_label(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def dataset_name(kind: Kind, rows: int) -> str:
    return f"{kind}-{size_label(rows)}"


def ensure(data_dir: Path, kind: Kind, rows: int, *, regenerate: bool = False) -> Dataset:
    """The data set `kind` × `rows`, generated now unless an identical one is on disk."""
    name = dataset_name(kind, rows)
    folder = data_dir.resolve() / name
    recipe = _recipe(kind, rows)
    described = folder / "dataset.json"
    if described.exists() and not regenerate:
        existing = _under(folder, Dataset(**json.loads(described.read_text())))
        if existing.recipe == recipe and all(Path(f).exists() for f in existing.files):
            return existing
    if folder.exists():
        shutil.rmtree(folder)
    _keep_out_of_git(data_dir.resolve())
    bucket = folder / "bucket"
    bucket.mkdir(parents=True)
    started = time.monotonic()
    dataset = _write(name, kind, rows, bucket, recipe)
    dataset = Dataset(**{**asdict(dataset), "generated_in_s": round(time.monotonic() - started, 1)})
    relative = {**asdict(dataset), "export_dir": _relative(folder, dataset.export_dir),
                "files": [_relative(folder, f) for f in dataset.files]}
    described.write_text(json.dumps(relative, indent=2) + "\n")
    return dataset


def _keep_out_of_git(data_dir: Path) -> None:
    """Gigabytes of generated months never belong in a commit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ignore = data_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")


def _under(folder: Path, dataset: Dataset) -> Dataset:
    """`dataset` as described on disk (paths relative to its folder), with absolute paths."""
    return Dataset(**{**asdict(dataset), "export_dir": str(folder / dataset.export_dir),
                      "files": [str(folder / f) for f in dataset.files]})


def _relative(folder: Path, path: str) -> str:
    return str(Path(path).relative_to(folder))


def _recipe(kind: Kind, rows: int) -> dict[str, object]:
    recipe: dict[str, object] = {"kind": kind, "rows": rows, "period": PERIOD, "seed": SEED}
    if kind == "hard-cur2-parquet":
        # rows are drawn from polars' hash: another polars may draw other rows
        recipe |= {"parts": _parts(rows, HARD_ROWS_PER_PART), "generator": "bench.hard_cur",
                   "polars": pl.__version__}
    elif kind.startswith("cur2"):
        recipe |= {"parts": _parts(rows), "with_net_columns": True, "granularity": "daily"}
    else:
        recipe |= {"parts": 1, "granularity": "hourly"}  # one file: what focus_converters reads
    return recipe


def _parts(rows: int, per_part: int = ROWS_PER_PART) -> int:
    return max(1, -(-rows // per_part))


def _write(name: str, kind: Kind, rows: int, bucket: Path, recipe: dict[str, object]) -> Dataset:
    filesystem = pafs.LocalFileSystem()
    root = str(bucket / PREFIX)
    if kind == "hard-cur2-parquet":
        hard = write_month(bucket / PREFIX, bucket=BUCKET, prefix=PREFIX, export_name=HARD_EXPORT,
                           period=PERIOD, rows=rows, parts=_parts(rows, HARD_ROWS_PER_PART),
                           seed=SEED)
        return Dataset(name=name, kind=kind, rows=hard.totals.rows, export_dir=str(hard.export_dir),
                       files=[str(f) for f in hard.data_files], fingerprint=hard.execution_id,
                       billed_total=str(hard.totals.billed),
                       bytes=sum(f.stat().st_size for f in hard.data_files), generated_in_s=0.0,
                       recipe=recipe)
    if kind == "legacy-csv":
        written = write_legacy_cur(filesystem, root, bucket=BUCKET, prefix=PREFIX,
                                   report_name=REPORT, period=PERIOD, rows=rows, flavour="csv",
                                   parts=1, seed=SEED)
        export_dir = Path(root) / REPORT
    else:
        written = write_cur2_export(filesystem, root, bucket=BUCKET, prefix=PREFIX,
                                    export_name=EXPORT, period=PERIOD, rows=rows,
                                    file_format="parquet" if kind == "cur2-parquet" else "csv",
                                    parts=_parts(rows), seed=SEED, with_net_columns=True)
        export_dir = Path(root) / EXPORT
    files = [str(Path(root) / key) for key in written.data_keys]
    return Dataset(name=name, kind=kind, rows=written.rows, export_dir=str(export_dir),
                   files=files, fingerprint=written.fingerprint,
                   billed_total=str(sum(written.billed_totals.values())),
                   bytes=sum(Path(f).stat().st_size for f in files), generated_in_s=0.0,
                   recipe=recipe)
