"""Unit strings providers publish → FOCUS Unit Format (`connectors/tables/units.csv`)."""

from __future__ import annotations

import polars as pl
import pytest

from costalloc.connectors.units import conformant_spelling, focus_unit, is_focus_unit, table


def test_every_unit_the_table_writes_follows_the_focus_grammar() -> None:
    written = set(table().values())
    assert len(table()) > 200  # AWS price-list, GCP and Azure spellings, not a handful
    assert [unit for unit in written if not is_focus_unit(unit)] == []


@pytest.mark.parametrize(("published", "provider", "expected"), [
    # the AWS units issue 16 measured failing FOCUS's format, and the common ones
    ("Hrs", "aws", "Hours"), ("GB-Mo", "aws", "GB-Months"), ("IOPS-Mo", "aws", "IOPS-Months"),
    ("days", "aws", "Days"), ("DPU-Hour", "aws", "DPU-Hours"), ("64K-Chunks", "aws", "Chunks"),
    ("ActiveConfigRules", "aws", "Active Config Rules"),
    ("ConfigurationItemRecorded", "aws", "Configuration Items Recorded"),
    ("Lambda-GB-Second", "aws", "GB-Seconds"), ("1K tokens", "aws", "1000 Tokens"),
    ("gibibyte month", "gcp", "GiB-Months"), ("requests", "gcp", "Requests"),
    ("GB/Month", "azure", "GB-Months"), ("/Month", "azure", "Months"),
    ("OCPU Per Hour", "any", "OCPU-Hours"),
])
def test_published_units_map_to_focus(published: str, provider: str, expected: str) -> None:
    units = pl.DataFrame({"unit": [published, None]})
    mapped = units.select(focus_unit(pl.col("unit"), provider))  # type: ignore[arg-type]
    assert mapped.get_column("unit").to_list() == [expected, None]


@pytest.mark.parametrize(("unknown", "expected"), [
    ("Widget-Hrs", "Widget-Hours"), ("Things per hour", "Things/Hour"),
    ("ActiveWidgets", "Active Widgets"), ("weird$unit", "Weird Unit"), ("$$", "Units"),
])
def test_unknown_units_get_a_conformant_spelling(unknown: str, expected: str) -> None:
    assert conformant_spelling(unknown) == expected
    assert is_focus_unit(expected)
