"""A file outside every root, carrying a unique marker, and the check that a refused load
never let any of it through (the confinement tests of every source kind share these)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from costalloc.core.errors import SourceError


@dataclass(frozen=True)
class Outside:
    """A folder outside every root, holding files whose every line carries `marker`."""

    folder: Path
    marker: str

    @property
    def csv(self) -> Path:
        # Read as CSV, its second line is ragged, so a parser error would quote that line.
        return self.folder / "secret.csv"


def plant_outside(tmp_path: Path) -> Outside:
    folder = tmp_path / "outside"
    folder.mkdir()
    marker = f"OUTSIDE-{uuid.uuid4().hex}"
    (folder / "secret.csv").write_text(f"secret {marker}\n{marker},{marker},{marker}\n")
    return Outside(folder, marker)


def published(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.sql("select x_source, x_ingest_run_id, count(*), sum(BilledCost) from line_items "
                   "group by all order by all").fetchall()


def assert_refused(raised: pytest.ExceptionInfo[SourceError], con: duckdb.DuckDBPyConnection,
                   before: list[tuple[object, ...]], outside: Outside, *, source: str,
                   names: tuple[str, ...]) -> str:
    """One paragraph naming the source, period and `names`; nothing from outside anywhere;
    the publication as it was."""
    message = str(raised.value)
    assert message.startswith(f"{source} 2026-10: "), message
    assert "\n" not in message, message
    for name in names:
        assert name in message, (name, message)
    assert outside.marker not in message
    logged = con.sql("select coalesce(message, '') from ingest_log").fetchall()
    assert not [m for (m,) in logged if outside.marker in m]
    assert outside.marker not in str(con.sql("select * from line_items").fetchall())
    assert published(con) == before, "the previous publication stays as it was"
    return message
