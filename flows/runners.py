"""Where the per-(source, period) work runs: a bounded thread pool here, or a Dask cluster.

Only reading and normalizing go to the runner; taking locks, publishing a partition into the
warehouse and allocating stay in the flow's own process, one at a time.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from costalloc.core.errors import ConfigurationError

RunnerKind = Literal["threads", "dask"]
RUNNER_KINDS: tuple[str, ...] = ("threads", "dask")
DEFAULT_MAX_WORKERS = 2  # CPU-bound normalizing gains nothing past the cores; see docs


def task_runner(kind: str = "threads", *, dask_address: str | None = None,
                max_workers: int = DEFAULT_MAX_WORKERS) -> TaskRunner[Any]:
    """`threads`: at most `max_workers` partitions read at once in this process. `dask`: the
    cluster at `dask_address`, or a local cluster of `max_workers` single-threaded worker
    processes."""
    if max_workers < 1:
        raise ConfigurationError(f"max workers is {max_workers}; it must be at least 1")
    if kind == "threads":
        if dask_address:
            raise ConfigurationError("a Dask address was given with the `threads` task runner; "
                                     "pass `--task-runner dask` to use the cluster")
        return ThreadPoolTaskRunner(max_workers=max_workers)
    if kind != "dask":
        raise ConfigurationError(f"task runner `{kind}` is unknown; use one of "
                                 f"{', '.join(RUNNER_KINDS)}")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # workers inherit it
    logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError:
        raise ConfigurationError("the `dask` task runner needs the prefect-dask package: "
                                 "`pip install prefect-dask`") from None
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": max_workers, "threads_per_worker": 1, "processes": True,
        "dashboard_address": None, "host": "127.0.0.1"})
