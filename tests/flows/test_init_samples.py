"""`costalloc init` on real public exports (the conformance corpus, tests/samples): the kind is
recognised from the layout, the starter rules load, and what `init` says they place is what
the allocation then places, per currency, to the printed decimal."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costalloc.allocation.loader import load_rules
from costalloc.allocation.publish import allocate_period
from costalloc.flows.cli import main
from costalloc.flows.loading import load_partition
from costalloc.warehouse.connection import connect
from tests.conformance.corpus import CORPUS, CorpusFile

# One file per provider and layout, each read as its provider wrote it (no derived layouts).
CHOSEN = ("focus-1-0-sample", "aws-legacy-cur-csv", "azure-ea-actual", "azure-mca")
COVERAGE = re.compile(r"^(?P<currency>[A-Z]{3}): the starter rules place environment "
                      r"(?P<environment>[\d.]+)%, workstream (?P<workstream>[\d.]+)%", re.M)


@pytest.mark.parametrize("sample", [c for c in CORPUS if c.id in CHOSEN], ids=lambda c: c.id)
def test_init_on_a_real_export_promises_what_the_allocation_does(
        sample: CorpusFile, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = sample.source(tmp_path / "export")
    period = sample.periods[0]  # the month holding most of the file
    project = tmp_path / "project"
    assert main(["init", "--from", source.uri, *_options(sample), "--period", str(period),
                 "--dir", str(project)]) == 0
    said = capsys.readouterr().out
    assert f" {period}: delivery " in said
    assert f"kind: {sample.kind}" in (project / "costalloc.yaml").read_text()  # recognised
    ruleset = load_rules(project / "rules.yaml")  # what `rules check` reads: it loads

    con = connect(tmp_path / "w.duckdb")
    try:
        load_partition(con, source, period, "r-1")
        allocate_period(con, ruleset, period, "a-1")
        placed = _placed(con, str(period))
    finally:
        con.close()
    promised = {m["currency"]: (m["environment"], m["workstream"])
                for m in COVERAGE.finditer(said)}
    assert promised and set(promised) == set(placed)
    for currency, (environment, workstream) in placed.items():
        assert promised[currency] == (f"{environment:.1f}", f"{workstream:.1f}"), currency


def _options(sample: CorpusFile) -> list[str]:
    """Options a layout needs named (an amortized Azure dataset); the kind is never named."""
    return [arg for key, value in sample.options.items() for arg in ("--option", f"{key}={value}")]


def _placed(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, tuple[Decimal, Decimal]]:
    rows = con.sql(
        "select BillingCurrency, "
        "100 * sum(BilledCost) filter (environment <> 'unallocated') / sum(BilledCost), "
        "100 * sum(BilledCost) filter (workstream <> 'unallocated') / sum(BilledCost) "
        "from allocated_costs where x_billing_period = $p group by 1", params={"p": period}
    ).fetchall()
    return {str(c): (Decimal(e or 0), Decimal(w or 0)) for c, e, w in rows}
