"""Every public export in the corpus loads through the production path, ties out to the file's
own cost column, and passes the FOCUS validator except for the validator's listed defects; the
conformance page says exactly that."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.corpus import CORPUS, CorpusFile
from tests.conformance.report import PAGE, PeriodResult, generated_part, render, run

_RESULTS: dict[str, list[PeriodResult]] = {}


def _results(entry: CorpusFile, folder: Path) -> list[PeriodResult]:
    if entry.id not in _RESULTS:
        _RESULTS[entry.id] = run(entry, folder)
    return _RESULTS[entry.id]


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.id)
def test_public_export_loads_ties_out_and_passes_the_validator(entry: CorpusFile,
                                                               tmp_path: Path) -> None:
    for result in _results(entry, tmp_path):
        assert result.rows > 0, f"{entry.id} {result.period}: nothing loaded"
        assert result.file_totals, f"{entry.id} {result.period}: the file has no cost"
        assert result.tied, (f"{entry.id} {result.period}: the file's cost column sums to "
                             f"{result.file_totals}, {entry.tied} to {result.loaded_totals}")
        assert not result.unexplained, (f"{entry.id} {result.period}: rules the data breaks: "
                                        f"{sorted(result.unexplained)}")
        assert result.single_parent_sku_prices, f"{entry.id}: a SkuPriceId with two SkuIds"


def test_conformance_page_shows_this_run(tmp_path: Path) -> None:
    results = {entry.id: _results(entry, tmp_path / entry.id) for entry in CORPUS}
    assert generated_part(PAGE.read_text()) == render(results), (
        "docs/conformance.md is out of date: run `.venv/bin/python -m tests.conformance.report`")
