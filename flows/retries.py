"""When a task is retried, and how long it waits: transient failures only (throttling, 5xx,
timeouts, a warehouse or lock held by another run), with exponential backoff and jitter."""

from __future__ import annotations

import os
from typing import Any, ParamSpec, TypeVar

from prefect import Task
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff

from costalloc.core.errors import TransientError

P = ParamSpec("P")
R = TypeVar("R")

RETRY_BASE_VARIABLE = "COSTALLOC_RETRY_BASE_SECONDS"  # first retry delay; doubles each time
RETRY_BASE_SECONDS = 10.0
SOURCE_RETRIES = 3  # throttling, 5xx, timeouts: 10 s, 20 s, 40 s
BUSY_RETRIES = 4  # a lock or the warehouse held by another run: 10 s … 80 s


def retry_transient(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry throttling, 5xx, timeouts and a busy warehouse; never configuration, source or
    data errors (they fail the same way until a person fixes them)."""
    return isinstance(state.data, TransientError)


def with_backoff(step: Task[P, R]) -> Task[P, R]:
    """`step` with exponential backoff from `$COSTALLOC_RETRY_BASE_SECONDS` (default 10 s),
    jittered by up to 20 % so runs that failed together don't retry together."""
    base = float(os.environ.get(RETRY_BASE_VARIABLE) or RETRY_BASE_SECONDS)
    return step.with_options(retry_delay_seconds=exponential_backoff(backoff_factor=base),
                             retry_jitter_factor=0.2)
