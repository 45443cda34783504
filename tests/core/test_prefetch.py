"""An iterator run a step ahead in a thread: same items, same errors, nothing left running."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from costalloc.core.errors import DataError
from costalloc.core.period import BillingPeriod
from costalloc.core.prefetch import prefetched


def test_items_arrive_in_order_and_all_of_them() -> None:
    assert list(prefetched(iter(range(1000)), ahead=3)) == list(range(1000))


def test_a_producer_error_is_raised_at_the_item_it_would_have_produced() -> None:
    def batches() -> Iterator[int]:
        yield 1
        yield 2
        raise DataError("aws", BillingPeriod(2026, 10), "`part-2.csv.gz` data row 7: bad")

    received = []
    with pytest.raises(DataError, match=r"part-2\.csv\.gz` data row 7"):
        for item in prefetched(batches()):
            received.append(item)
    assert received == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer_and_runs_its_cleanup() -> None:
    cleaned = threading.Event()
    produced = []

    def batches() -> Iterator[int]:
        try:
            for item in range(1_000_000):
                produced.append(item)
                yield item
        finally:
            cleaned.set()  # e.g. a downloaded file removed

    stream = prefetched(batches(), ahead=2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert cleaned.is_set()
    # The producer ran at most `ahead` items (plus one in hand) beyond what was consumed.
    assert len(produced) <= 3 + 2 + 1
    assert not any(t.name == "prefetch" for t in threading.enumerate())
