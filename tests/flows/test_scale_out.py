"""Scale-out: sources read on a Dask cluster (2 worker processes), one task per file of a
delivery, into a Parquet lake or the scratch folder, give the same line items, ingest log and
allocation as the default path (threads, scratch beside the warehouse); the lake is Hive-partitioned, complete
and replaced whole when a newer delivery arrives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.dataset as ds
import pytest
from polars.testing import assert_frame_equal

from bench.hard_cur import write_month
from costalloc.flows.nightly import nightly
from tests.flows.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]
PERIODS = ["2026-10", "2026-11"]
SOURCES = ("aws-main", "aws-data")
VOLATILE = {"line_items": ["x_ingest_run_id"],
            "allocated_costs": ["x_ingest_run_id", "x_allocation_run_id", "x_allocated_at"]}
HARD_RULES = Path(__file__).parents[2] / "bench" / "rules-hard.yaml"
INGEST_TOTALS = ("select source, billing_period, fingerprint, files, row_count, raw_totals, "
                 "loaded_totals, duplicate_rows from ingest_log where status = 'loaded' "
                 "order by source, billing_period")


def _estate(root: Path, **extra: object) -> Workspace:
    space = Workspace(root)
    for n, (source, period) in enumerate((s, p) for p in PERIODS for s in SOURCES):
        space.deliver(source, period, rows=400, seed=20 + n)
    space.configure([{"name": s, "kind": "aws-cur", "uri": space.export_uri(s)}
                     for s in SOURCES], **extra)
    return space


def _table(space: Workspace, table: str) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect(str(space.warehouse), read_only=True)
    try:
        frame = con.sql(f"select * exclude ({', '.join(VOLATILE[table])}) from {table}").pl()
    finally:
        con.close()
    return frame.sort(["x_source", "x_billing_period", "x_line_item_id", *(
        ["x_split_rule", "environment", "workstream"] if table == "allocated_costs" else [])],
        nulls_last=True)


def test_the_dask_path_into_a_lake_equals_the_default_path(tmp_path: Path) -> None:
    default = _estate(tmp_path / "default")
    nightly(config=str(default.root / "costalloc.yaml"), periods=PERIODS)

    scaled = _estate(tmp_path / "scaled", lake="lake")
    report = nightly(config=str(scaled.root / "costalloc.yaml"), periods=PERIODS,
                     task_runner="dask", max_workers=2)
    assert sorted(r.outcome for r in report.loads) == ["loaded"] * 4

    for table in ("line_items", "allocated_costs"):
        assert_frame_equal(_table(scaled, table), _table(default, table))

    lake = tmp_path / "scaled" / "lake" / "line_items"
    files = sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*") if p.is_file())
    assert [f.rsplit("/", 1)[0] for f in files] == [
        f"x_source={s}/x_billing_period={p}" for s in sorted(SOURCES) for p in PERIODS]
    assert all(f.rsplit("/", 1)[1].startswith("part-") for f in files)
    hive = pl.from_arrow(ds.dataset(lake, format="parquet", partitioning="hive").to_table())
    assert isinstance(hive, pl.DataFrame)
    assert hive.height == _table(default, "line_items").height
    assert hive["BilledCost"].sum() == _table(default, "line_items")["BilledCost"].sum()


def test_a_newer_delivery_replaces_the_lake_partition_whole(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    space.deliver("aws", "2026-10", rows=300, seed=31)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": space.export_uri("aws")}],
                             lake="lake")
    nightly(config=str(config), periods=["2026-10"])
    partition = tmp_path / "lake" / "line_items" / "x_source=aws" / "x_billing_period=2026-10"
    first = sorted(p.name for p in partition.iterdir())

    newer = space.deliver("aws", "2026-10", rows=500, seed=32)
    nightly(config=str(config), periods=["2026-10"])
    second = sorted(p.name for p in partition.iterdir())

    assert len(first) == len(second) == 1 and first != second  # the old version is gone
    in_lake = pl.read_parquet(partition / second[0])
    assert in_lake["BilledCost"].sum() == newer.billed_totals["USD"]
    assert space.loaded() == {("aws", "2026-10"): newer.billed_totals["USD"]}
    assert "x_source" not in in_lake.columns  # Hive keeps partition columns in the path


def _hard_estate(root: Path, **extra: object) -> tuple[Workspace, Path]:
    """A hard CUR 2.0 month in three files, with the bench's rules (a split over a tenth of
    the line items, a capitalization entry)."""
    month = write_month(root / "bucket" / "cur", bucket="acme-billing", prefix="cur",
                        export_name="acme-cur2-hard", period="2026-10", rows=9_000, parts=3,
                        seed=29, batch_rows=2_000)
    space = Workspace(root)
    config = space.configure([{"name": "aws", "kind": "aws-cur", "uri": str(month.export_dir),
                               "options": {"batch_rows": 1_500}}], **extra)
    config.write_text(config.read_text().replace("rules: rules.yaml",
                                                 f"rules: {HARD_RULES}"))
    assert len(month.data_files) == 3
    return space, config


@pytest.mark.parametrize("lake", ["lake", None])
def test_one_task_per_file_on_dask_equals_the_default_path(tmp_path: Path,
                                                           lake: str | None) -> None:
    default, default_config = _hard_estate(tmp_path / "default")
    nightly(config=str(default_config), periods=["2026-10"])

    scaled, scaled_config = _hard_estate(tmp_path / "scaled", **({"lake": lake} if lake else {}))
    # With a lake: the default local cluster; without: the same cluster named by its class, as
    # a `coiled.Cluster` or a `KubeCluster` would be (`--dask-cluster`, `--dask-option`).
    cluster = {} if lake else {"dask_cluster": "distributed.LocalCluster", "dask_cluster_options": {
        "n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": None,
        "host": "127.0.0.1"}}
    report = nightly(config=str(scaled_config), periods=["2026-10"], task_runner="dask",
                     max_workers=2, **cluster)
    assert [r.outcome for r in report.loads] == ["loaded"]

    for table in ("line_items", "allocated_costs"):
        assert_frame_equal(_table(scaled, table), _table(default, table))
    assert scaled.query(INGEST_TOTALS) == default.query(INGEST_TOTALS)
    assert scaled.loaded() == default.loaded()  # and no line item id twice
    if lake is None:
        assert not list((tmp_path / "scaled" / ".costalloc-scratch").rglob("*.parquet*"))
        return
    # Each file was staged by a task of its own: the lake keeps one part per file, named for it.
    folder = tmp_path / "scaled" / lake / "line_items" / "x_source=aws" / "x_billing_period=2026-10"
    files = sorted(int(p.name.rsplit("-", 2)[1]) for p in folder.glob("part-*.parquet"))
    assert files == [0, 1, 2]
    ids = pl.read_parquet(folder / "*.parquet")["x_line_item_id"]
    assert ids.is_unique().all() and ids.min() == 1 and ids.max() == ids.len()
