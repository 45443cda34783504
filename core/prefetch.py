"""Run an iterator one step ahead of its consumer, in a thread.

Reading a file, normalizing a batch (polars) and writing Parquet (pyarrow) all release the GIL,
so a thread per stage lets them overlap on the machine's cores instead of taking turns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


class _Done:
    """The producer's last word: the iterator ended, or raised `error`."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetched(items: Iterable[T], *, ahead: int = 2, name: str = "prefetch") -> Iterator[T]:
    """`items`, produced in a background thread at most `ahead` items before they are used.

    An error in the producer is raised here, at the item it would have produced. If the
    consumer stops early (an error of its own, or `close()`), the producer stops at its next
    item and its thread ends before this generator does.
    """
    handoff: queue.Queue[T | _Done] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def offer(item: T | _Done) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            offer(_Done(error))
            return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # a generator left early runs its cleanup here, now
                close()
        offer(_Done())

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    try:
        while True:
            item = handoff.get()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        producer.join()
