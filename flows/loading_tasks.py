"""The Prefect tasks that load one (source, period), and the ways a run puts them together.

- **One task per file** (connectors that read file by file, `connectors.delivery.FileByFile`):
  the delivery is found here, its files are staged as Parquet parts by tasks on the runner
  (threads, or a Dask cluster; `flows.file_staging`), then published.
- **One task per partition** (the other connectors): `stage` on the runner, then `publish`.

Locks are taken and released here, in the flow's process; staged parts are published here too,
one partition at a time. A partition's failure is raised by its `result()`, never earlier, so
one partition never stops another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner

from costalloc.connectors.delivery import Delivery, check_file_list
from costalloc.core.period import BillingPeriod
from costalloc.core.settings import Settings
from costalloc.flows import file_staging
from costalloc.flows.file_staging import StagedFile
from costalloc.flows.loading import (
    LoadResult,
    Staged,
    find,
    partition_store,
    publish,
    reading,
    stage,
    warehouse,
)
from costalloc.flows.plan import Partition
from costalloc.flows.retries import (
    BUSY_RETRIES,
    SOURCE_RETRIES,
    retry_transient,
    with_backoff,
)
from costalloc.warehouse import locks
from costalloc.warehouse.partitions import published_fingerprint


@task(name="claim-partition", cache_policy=NONE, retries=BUSY_RETRIES,
      retry_condition_fn=retry_transient)
def claim_partition(settings: Settings, source: str, period: BillingPeriod,
                    run_id: str) -> str | None:
    """Take the (source, period) lock; the fingerprint published before this run."""
    with warehouse(settings.warehouse) as con:
        key = locks.load_key(source, period)
        gone = locks.acquire(con, key, locks.Holder.here(run_id))
        if gone is not None:
            get_run_logger().warning("took over lock `%s` from %s, which is no longer running",
                                     key, gone.describe())
        return published_fingerprint(con, source, period)


@task(name="stage-partition", cache_policy=NONE, retries=SOURCE_RETRIES,
      retry_condition_fn=retry_transient)
def stage_partition(settings: Settings, source: str, period: BillingPeriod, run_id: str,
                    published: str | None, force: bool = False) -> Staged:
    """Read and normalize one delivery into Parquet parts (runs on the task runner)."""
    store, _ = partition_store(settings, run_id)
    return stage(settings.source(source), period, run_id, store, published=published,
                 force=force)


@task(name="find-delivery", cache_policy=NONE, retries=SOURCE_RETRIES,
      retry_condition_fn=retry_transient)
def find_delivery(settings: Settings, source: str, period: BillingPeriod) -> Delivery | None:
    """The current delivery, found in the flow's process (after the partition's lock)."""
    return find(settings.source(source), period)[1]


@task(name="read-delivery-context", cache_policy=NONE, retries=SOURCE_RETRIES,
      retry_condition_fn=retry_transient)
def read_context(settings: Settings, source: str, delivery: Delivery) -> Any:
    return file_staging.read_context(settings.source(source), delivery)


@task(name="stage-file", cache_policy=NONE, retries=SOURCE_RETRIES,
      retry_condition_fn=retry_transient)
def stage_file(settings: Settings, source: str, delivery: Delivery, index: int, context: Any,
               run_id: str) -> StagedFile:
    store, _ = partition_store(settings, run_id)
    return file_staging.stage_file(settings.source(source), delivery, index, context, run_id,
                                   store)


@task(name="renumber-part", cache_policy=NONE)
def renumber_part(settings: Settings, run_id: str, part: str, offset: int) -> None:
    partition_store(settings, run_id)[0].renumber(part, offset)


@task(name="publish-partition", cache_policy=NONE, retries=BUSY_RETRIES,
      retry_condition_fn=retry_transient)
def publish_partition(settings: Settings, staged: Staged, run_id: str) -> LoadResult:
    store, keep = partition_store(settings, run_id)
    with warehouse(settings.warehouse) as con:
        return publish(con, staged, store, run_id, keep=keep)


class PendingLoad(Protocol):
    """A partition's load under way: `begin` (in the lock), `launch` once every partition has
    begun, then `result`, which raises what stopped it."""

    def begin(self) -> None: ...

    def launch(self) -> None: ...

    def result(self) -> LoadResult: ...


@dataclass
class _Load:
    """One partition's load, with the lock taken: what every way of loading needs."""

    settings: Settings
    partition: Partition
    run_id: str
    published: str | None  # the fingerprint published when the lock was taken
    force: bool
    pool: TaskRunner[Any]


@dataclass
class _OneTask(_Load):
    """Staged by one task on the runner, then published."""

    future: PrefectFuture[Staged] | None = None

    def begin(self) -> None:
        named = with_backoff(stage_partition).with_options(
            task_run_name=f"stage {self.partition.name}")
        self.future = self.pool.submit(named, parameters={
            "settings": self.settings, "source": self.partition.source.name,
            "period": self.partition.period, "run_id": self.run_id,
            "published": self.published, "force": self.force})

    def launch(self) -> None:
        return

    def result(self) -> LoadResult:
        assert self.future is not None
        return _publish(self.settings, self.partition, self.future.result(), self.run_id)


@dataclass
class _FileByFile(_Load):
    """Staged one task per file of the delivery, then published."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    delivery: Delivery | None = None
    settled: LoadResult | None = None
    context: PrefectFuture[Any] | None = None
    files: list[PrefectFuture[StagedFile]] = field(default_factory=list)
    error: BaseException | None = None

    def begin(self) -> None:
        source, period = self.partition.source.name, self.partition.period
        try:
            found = with_backoff(find_delivery).with_options(
                task_run_name=f"find {self.partition.name}")(self.settings, source, period)
            if found is None:
                self.settled = LoadResult(source, period, "no-delivery")
            elif not self.force and found.fingerprint == self.published:
                self.settled = LoadResult(source, period, "unchanged", found.fingerprint)
            else:
                with reading(found):
                    check_file_list(found)
                self.delivery = found
                self.context = self.pool.submit(
                    with_backoff(read_context).with_options(
                        task_run_name=f"context {self.partition.name}"),
                    parameters={"settings": self.settings, "source": source,
                                "delivery": found})
        except Exception as error:  # raised by `result`
            self.error = error

    def launch(self) -> None:
        """Queue a task per file now, without waiting: each gets the context once it is read
        (the runner resolves the future), so the flow never blocks here behind another
        partition's tasks."""
        if self.delivery is None or self.error is not None or self.context is None:
            return
        context = self.context
        stage_step = with_backoff(stage_file)
        count = len(self.delivery.files)
        for index in range(count):
            named = stage_step.with_options(
                task_run_name=f"stage {self.partition.name} file {index + 1}/{count}")
            self.files.append(self.pool.submit(named, parameters={
                "settings": self.settings, "source": self.partition.source.name,
                "delivery": self.delivery, "index": index, "context": context,
                "run_id": self.run_id}))

    def result(self) -> LoadResult:
        if self.settled is not None:
            return self.settled
        staged: list[StagedFile] = []
        error = self.error
        if error is None and self.context is not None:
            try:  # a context that could not be read is the error, not its files' failures
                self.context.result()
            except Exception as failed:
                error = failed
        for future in self.files:  # every file ends before the partition does
            try:
                staged.append(future.result())
            except Exception as failed:
                error = error or failed
        store, keep = partition_store(self.settings, self.run_id)
        parts = [part for file in staged for part in file.parts]
        if error is not None:
            store.remove(parts)
            raise error
        assert self.delivery is not None
        try:
            renumbering = [
                self.pool.submit(renumber_part, parameters={
                    "settings": self.settings, "run_id": self.run_id, "part": part,
                    "offset": offset})
                for file, offset in zip(staged, file_staging.id_offsets(staged), strict=True)
                if keep and offset for part in file.parts]
            for future in renumbering:
                future.result()
        except BaseException:
            store.remove(parts)
            raise
        whole = file_staging.assembled(self.delivery, staged, self.started_at, renumbered=keep)
        return _publish(self.settings, self.partition, whole, self.run_id)


def start_load(settings: Settings, partition: Partition, run_id: str, published: str | None,
               force: bool, pool: TaskRunner[Any]) -> PendingLoad:
    """The partition's load: one task per file where its connector reads file by file."""
    if file_staging.reads_file_by_file(partition.source):
        return _FileByFile(settings, partition, run_id, published, force, pool)
    return _OneTask(settings, partition, run_id, published, force, pool)


def _publish(settings: Settings, partition: Partition, staged: Staged,
             run_id: str) -> LoadResult:
    step = with_backoff(publish_partition).with_options(task_run_name=f"publish {partition.name}")
    return step(settings, staged, run_id)
