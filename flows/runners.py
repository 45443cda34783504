"""Where the per-partition (or per-file) work runs: a bounded thread pool here, or a Dask cluster.

Only reading and normalizing go to the runner; taking locks, publishing staged parts into the
warehouse and allocating stay in the flow's own process, one at a time (`flows.loading_tasks`).
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from costalloc.core.errors import ConfigurationError

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

RunnerKind = Literal["threads", "dask"]
RUNNER_KINDS: tuple[str, ...] = ("threads", "dask")
# One staging task at a time: each already keeps two cores busy (reading, normalizing and
# writing overlap), and a second one at once bought nothing on a 10M-line-item month but
# 0.6 GB more memory (docs/performance.md). Raise it for sources that mostly wait on the network.
DEFAULT_MAX_WORKERS = 1


@dataclass(frozen=True)
class RunnerChoice:
    """A run's task runner as its flow's parameters (and the command line) name it."""

    kind: str = "threads"
    dask_address: str | None = None  # a running scheduler, e.g. tcp://scheduler:8786
    dask_cluster: str | None = None  # a cluster class to start, e.g. coiled.Cluster
    dask_cluster_options: dict[str, Any] = field(default_factory=dict)  # its keyword arguments
    max_workers: int = DEFAULT_MAX_WORKERS

    def check(self) -> None:
        """A choice that cannot work is a `ConfigurationError`, said without importing Prefect
        (a run with nothing to do checks its options too)."""
        if self.max_workers < 1:
            raise ConfigurationError(f"max workers is {self.max_workers}; it must be at least 1")
        if self.kind not in RUNNER_KINDS:
            raise ConfigurationError(f"task runner `{self.kind}` is unknown; use one of "
                                     f"{', '.join(RUNNER_KINDS)}")
        if self.kind == "threads" and (self.dask_address or self.dask_cluster):
            given = "address" if self.dask_address else "cluster class"
            raise ConfigurationError(f"a Dask {given} was given with the `threads` task "
                                     "runner; pass `--task-runner dask` to use the cluster")
        if self.dask_address and self.dask_cluster:
            raise ConfigurationError("give a Dask scheduler's address or a cluster class to "
                                     "start, not both")
        if self.dask_cluster_options and not self.dask_cluster:
            raise ConfigurationError("Dask cluster options were given without a cluster class")
        if self.dask_cluster:
            _cluster_class(self.dask_cluster)

    def build(self) -> TaskRunner[Any]:
        """`threads`: at most `max_workers` partitions read at once in this process. `dask`:
        the cluster at `dask_address`, or one `dask_cluster` (a class such as
        `dask_kubernetes.operator.KubeCluster` or `coiled.Cluster`) starts with
        `dask_cluster_options` (or reconnects to, where the class does that by name), or a local
        cluster of `max_workers` single-threaded worker processes. Nothing starts until the
        flow enters the runner."""
        self.check()
        if self.kind == "threads":
            from prefect.task_runners import ThreadPoolTaskRunner

            return ThreadPoolTaskRunner(max_workers=self.max_workers)
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # workers inherit it
        logging.getLogger("distributed").setLevel(logging.WARNING)
        try:
            from prefect_dask.task_runners import DaskTaskRunner
        except ImportError:
            raise ConfigurationError("the `dask` task runner needs the prefect-dask package: "
                                     "`pip install prefect-dask`") from None
        if self.dask_address:
            return DaskTaskRunner(address=self.dask_address)
        if self.dask_cluster:
            return DaskTaskRunner(cluster_class=_cluster_class(self.dask_cluster),
                                  cluster_kwargs=dict(self.dask_cluster_options))
        return DaskTaskRunner(cluster_kwargs={
            "n_workers": self.max_workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None, "host": "127.0.0.1"})


def task_runner(kind: str = "threads", *, max_workers: int = DEFAULT_MAX_WORKERS
                ) -> TaskRunner[Any]:
    """The thread pool (or a local Dask cluster) of `max_workers`: `RunnerChoice.build`."""
    return RunnerChoice(kind, max_workers=max_workers).build()


def _cluster_class(name: str) -> Any:
    """`package.module.Class`, imported now: a typo or a missing package is one paragraph."""
    module, _, attribute = name.rpartition(".")
    if not module:
        raise ConfigurationError(f"Dask cluster class `{name}` is not a dotted name such as "
                                 "`coiled.Cluster`")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as error:
        raise ConfigurationError(f"Dask cluster class `{name}`: cannot import `{module}` "
                                 f"({error}); install the package that provides it (e.g. "
                                 "`pip install dask-kubernetes` or `pip install coiled`)"
                                 ) from None
    except AttributeError:
        raise ConfigurationError(f"Dask cluster class `{name}`: `{module}` has no "
                                 f"`{attribute}`") from None
