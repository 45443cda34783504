"""What a run did, step by step: for the terminal, the Prefect log and the progress bar. Kept
apart from the flows (no Prefect import), so a run with nothing to do reports the same way
without starting any Prefect machinery (`flows.triage`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from costalloc.allocation.publish import AllocationResult
from costalloc.core.period import BillingPeriod
from costalloc.flows.loading import LoadResult


@dataclass(frozen=True)
class Step:
    """One thing a run did, for the terminal, the Prefect log and the progress bar."""

    kind: Literal["load", "allocate", "note"]  # a note: something to know, not a step
    message: str
    failed: bool = False


Progress = Callable[[Step], None]


@dataclass
class RunReport:
    run_id: str
    periods: list[BillingPeriod]
    loads: list[LoadResult] = field(default_factory=list)
    allocations: list[AllocationResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures
