"""Backfill a billing period or a range, with a progress bar per (source, period).

Resumable by construction: a delivery whose fingerprint is already loaded is skipped, so
re-running after an interruption does only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prefect import flow
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import CostallocError
from core.period import BillingPeriod
from core.settings import load_settings
from flows.nightly import RunReport, run_pipeline

_listeners: list[Callable[[str], None]] = []


def _notify(message: str) -> None:
    for listener in _listeners:
        listener(message)


@flow(name="costalloc-backfill")
def backfill(config: str = "costalloc.yaml", periods: list[str] | None = None,
             sources: list[str] | None = None, force: bool = False) -> RunReport:
    settings = load_settings(Path(config))
    chosen = [BillingPeriod.parse(p) for p in periods or []]
    report = run_pipeline(settings, chosen, sources=sources, force=force, progress=_notify)
    if not report.ok:
        raise CostallocError(f"backfill finished with {len(report.failures)} failure(s):\n" +
                             "\n".join(report.failures))
    return report


def backfill_with_progress(config: Path, periods: list[BillingPeriod],
                           sources: list[str] | None, force: bool) -> int:
    settings = load_settings(config)
    names = sources or [s.name for s in settings.sources]
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        loads = bar.add_task("load (source × period)", total=len(names) * len(periods))
        allocations = bar.add_task("allocate (period)", total=len(periods))

        def listener(message: str) -> None:
            bar.console.print(message, highlight=False)
            if message.startswith("allocated"):
                bar.advance(allocations)
            elif "allocat" not in message:
                bar.advance(loads)

        _listeners.append(listener)
        try:
            backfill(config=str(config), periods=[str(p) for p in periods], sources=sources,
                     force=force)
        finally:
            _listeners.remove(listener)
            bar.update(allocations, completed=len(periods))
    return 0
