"""Which sources stopped delivering: the last delivery each source had not loaded before, against
its provider's usual lag, read from a real warehouse's `ingest_log`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from costalloc.reports.finance.freshness import Expected, duration, freshness, freshness_markdown
from costalloc.warehouse.connection import connect

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _loaded(con: duckdb.DuckDBPyConnection, source: str, fingerprint: str, at: datetime,
            status: str = "loaded") -> None:
    con.execute(
        "insert into ingest_log values ('r', $source, '2026-11', $fingerprint, $status, '[]', 1, "
        "'{}', '{}', null, $at, $at, null)",
        {"source": source, "fingerprint": fingerprint, "status": status, "at": at})


def test_a_source_past_its_usual_lag_is_flagged_and_a_forced_reload_is_not_a_delivery(
        tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    _loaded(con, "aws-main", "exec-1", NOW - 4 * DAY)
    _loaded(con, "aws-main", "exec-2", NOW - 3 * DAY - timedelta(hours=2))
    _loaded(con, "aws-main", "exec-2", NOW - timedelta(hours=1))  # `backfill --force`: same data
    _loaded(con, "aws-main", "exec-3", NOW - timedelta(hours=2), status="failed")  # not published
    _loaded(con, "gcp-main", "fp-9", NOW - timedelta(hours=20))
    expected = [Expected("aws-main", "aws-cur", DAY), Expected("gcp-main", "gcp-bigquery", DAY),
                Expected("azure-new", "azure-export", 2 * DAY),
                Expected("backfill", "azure-cost-details", None)]

    rows = freshness(con, expected, NOW)
    con.close()

    assert [(r.source, r.deliveries, r.overdue) for r in rows] == [
        ("aws-main", 2, True), ("gcp-main", 1, False), ("azure-new", 0, True),
        ("backfill", 0, False)]
    assert rows[0].describe() == (
        "aws-main: no new delivery for 3 days 2 hours (last 2026-11-17 01:00 UTC); aws-cur "
        "usually delivers within 24 hours — check that its export is still running")
    assert rows[1].describe() == ("gcp-main: last new delivery 2026-11-19 07:00 UTC "
                                  "(gcp-bigquery usually delivers within 24 hours)")
    assert rows[2].describe().startswith("azure-new: no delivery has been loaded yet")
    markdown = freshness_markdown(rows)
    assert "| aws-main | 2026-11-17 01:00 UTC | 24 hours | ⚠️ no new delivery for 3 days 2 " \
           "hours" in markdown
    assert "| gcp-main | 2026-11-19 07:00 UTC | 24 hours | ✅ delivering |" in markdown
    assert "| azure-new | never | 2 days | ⚠️ no delivery has been loaded yet" in markdown
    assert "| backfill | never | on demand | – |" in markdown


def test_durations_read_as_a_person_says_them() -> None:
    assert duration(timedelta(minutes=45)) == "45 minutes"
    assert duration(timedelta(hours=1, minutes=5)) == "1 hour"
    assert duration(timedelta(hours=30)) == "30 hours"
    assert duration(timedelta(days=2)) == "2 days"
    assert duration(timedelta(days=3, hours=4, minutes=59)) == "3 days 4 hours"
