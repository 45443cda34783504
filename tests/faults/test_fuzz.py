"""A property of the production loading path, fuzzed: whatever is done to a delivery, loading
it (`flows.loading.load_partition`, stage then publish, as the nightly flow runs) either

- publishes it whole: `line_items` holds, per currency, exactly the raw files' own cost total
  (worked out here from the mutated files by `fuzz_oracle`, never by costalloc's code), every
  data row of every file once (AWS's derived `…/Unused` rows aside), under the new fingerprint
  in `ingest_log` as `loaded`; or
- refuses it whole: a `CostallocError` (never another exception, never a retryable one for a
  local delivery) whose message is one bounded paragraph naming the source and period and
  holding no byte of the files planted outside the export; the previous publication exactly as
  it was (line items, totals, fingerprint); and, when the delivery was found, a `failed` row in
  `ingest_log` carrying that message.

Nothing else: not a traceback, not a wrong total, not a half-published partition. A mutation
that removes the newer manifest may leave the published delivery current (`unchanged`).

The deliveries are real layouts (`fuzz_layouts`: AWS CUR 2.0 Parquet and gzip CSV, legacy CUR,
an Azure EA export, FOCUS files from the FinOps Foundation's sample), 80 to 330 rows each; the
mutations are `fuzz_mutations`' five families, one test per (layout, family).

Seeded and bounded: hypothesis runs derandomized (the same examples every run) with
COSTALLOC_FUZZ_EXAMPLES examples per test (default 5, ~75 s in all on two cores). To search
longer, raise it, and set COSTALLOC_FUZZ_SEED to explore other examples than the fixed ones:

    COSTALLOC_FUZZ_EXAMPLES=2000 COSTALLOC_FUZZ_SEED=7 \
        .venv/bin/python -m pytest -q -p no:cacheprovider tests/faults/test_fuzz.py
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from costalloc.core.errors import CostallocError, TransientError
from costalloc.warehouse.connection import connect
from tests.faults.fuzz_layouts import LAYOUTS, MARKER, Current, Layout, build_template
from tests.faults.fuzz_mutations import Example, Family, families, mutations
from tests.faults.fuzz_oracle import Expected, MustRefuse
from tests.faults.load_path import load

EXAMPLES = int(os.environ.get("COSTALLOC_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("COSTALLOC_FUZZ_SEED")
MESSAGE_LIMIT = 1500  # characters: a paragraph quoting a path or two and one value, cut short
RUN = "fuzzed"

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
                print_blob=False, suppress_health_check=list(HealthCheck))
CASES = [(layout.name, family) for layout in LAYOUTS.values() for family in families(layout)]


class Templates:
    """Per layout, built once: the published delivery loaded into a warehouse, the newer
    delivery written beside it, the outside files planted."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.built: dict[str, tuple[Path, Current]] = {}

    def get(self, layout: Layout) -> tuple[Path, Current]:
        if layout.name not in self.built:
            root = self.base / layout.name
            root.mkdir()
            self.built[layout.name] = (root, build_template(layout, root, _loader(layout)))
        return self.built[layout.name]


def _loader(layout: Layout) -> Callable[[Path], None]:
    def load_published(root: Path) -> None:
        con = connect(root / "warehouse.duckdb")
        try:
            published = load(con, layout.settings(root), layout.period, "published",
                             workdir=root / "work")
            assert published.outcome == "loaded" and published.rows > 0
        finally:
            con.close()
    return load_published


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory.mktemp("fuzz"))


def _seeded(test: object) -> object:
    return seed(int(SEED))(test) if SEED is not None else test  # type: ignore[arg-type]


@pytest.mark.parametrize(("layout_name", "family"), CASES)
@_seeded
@FUZZ
@given(data=st.data())
def test_a_mutated_delivery_is_published_whole_or_refused_whole(
        templates: Templates, layout_name: str, family: Family, data: st.DataObject) -> None:
    layout = LAYOUTS[layout_name]
    template, current = templates.get(layout)
    drawn = data.draw(mutations(layout, family), label="mutations")
    with _example(templates.base, layout, template, current) as example:
        for mutation in drawn:
            mutation.apply(example)
        con = connect(example.root / "warehouse.duckdb")
        try:
            _check(example, con)
        finally:
            con.close()


@dataclass(frozen=True)
class State:
    """What is published for the layout's (source, period), and the load log."""

    line_items: list[tuple[object, ...]]
    fingerprint: str | None
    log: list[tuple[object, ...]]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, layout: Layout) -> State:
        params = {"s": layout.source, "p": str(layout.period)}
        line_items = con.sql(
            "select BillingCurrency, count(*), sum(BilledCost), string_agg(distinct "
            "x_ingest_run_id order by x_ingest_run_id) from line_items where x_source = $s and "
            "x_billing_period = $p group by all order by all", params=params).fetchall()
        loaded = con.sql("select fingerprint from ingest_log where source = $s and "
                         "billing_period = $p and status = 'loaded' order by finished_at desc "
                         "limit 1", params=params).fetchall()
        log = con.sql("select run_id, status, fingerprint, message from ingest_log "
                      "order by started_at, finished_at", params={}).fetchall()
        return cls(line_items, str(loaded[0][0]) if loaded else None, log)


def _check(example: Example, con: duckdb.DuckDBPyConnection) -> None:
    layout = example.layout
    before = State.of(con, layout)
    assert before.fingerprint is not None and before.line_items
    try:
        truth: Expected | MustRefuse = layout.expected(example.root, example.current)
    except MustRefuse as why:
        truth = why
    try:
        result = load(con, layout.settings(example.root), layout.period, RUN,
                      workdir=example.root / "work")
    except CostallocError as error:
        _assert_refused(error, example, con, before)
        return
    if result.outcome == "loaded":
        assert not isinstance(truth, MustRefuse), f"published although {truth}"
        _assert_published(truth, example, con, result.fingerprint)
        return
    assert example.hid_delivery, f"`{result.outcome}` for a delivery that is there"
    assert State.of(con, layout) == before


def _assert_refused(error: CostallocError, example: Example, con: duckdb.DuckDBPyConnection,
                    before: State) -> None:
    layout = example.layout
    message = str(error)
    assert not isinstance(error, TransientError), f"a local delivery is not retryable: {message}"
    assert message.startswith(f"{layout.source} {layout.period}: "), message[:300]
    assert "\n" not in message and "Traceback" not in message, message[:300]
    assert len(message) <= MESSAGE_LIMIT, f"{len(message)} characters: {message[:300]}…"
    assert MARKER not in message
    after = State.of(con, layout)
    assert (after.line_items, after.fingerprint) == (before.line_items, before.fingerprint), \
        "the previous publication must stay exactly as it was"
    new = after.log[len(before.log):]
    assert after.log[:len(before.log)] == before.log
    assert len(new) <= 1, new
    if not example.unfound:
        assert len(new) == 1, f"a found delivery's refusal is logged: {message[:200]}"
    for run_id, status, _, logged in new:
        assert (run_id, status, logged) == (RUN, "failed", message)
    assert MARKER not in str(con.sql("select * from line_items").fetchall())


def _assert_published(truth: Expected, example: Example, con: duckdb.DuckDBPyConnection,
                      fingerprint: str | None) -> None:
    layout = example.layout
    params = {"s": layout.source, "p": str(layout.period)}
    totals = dict(con.sql("select BillingCurrency, sum(BilledCost) from line_items where "
                          "x_source = $s and x_billing_period = $p group by 1",
                          params=params).fetchall())
    assert {c: Decimal(a) for c, a in totals.items()} == truth.totals, \
        "the published totals are the raw files' own"
    # every data row of every file once; AWS derives a `…/Unused` row from commitment fees
    rows = con.sql("select x_source_file, count(*) from line_items where x_source = $s and "
                   "x_billing_period = $p and coalesce(x_line_item_type, '') not like '%/Unused' "
                   "group by 1", params=params).fetchall()
    assert {posixpath.normpath(f): n for f, n in rows} == \
        {posixpath.normpath(f): n for f, n in truth.rows.items() if n}
    assert con.sql("select distinct x_ingest_run_id from line_items where x_source = $s and "
                   "x_billing_period = $p", params=params).fetchall() == [(RUN,)]
    assert State.of(con, layout).fingerprint == fingerprint
    assert con.sql("select status from ingest_log where run_id = $r",
                   params={"r": RUN}).fetchall() == [("loaded",)]
    assert MARKER not in str(con.sql("select * from line_items").fetchall())


@contextmanager
def _example(base: Path, layout: Layout, template: Path, current: Current) -> Iterator[Example]:
    """A fresh copy of the template for one example, removed afterwards."""
    with tempfile.TemporaryDirectory(dir=base) as folder:
        root = Path(folder) / "example"
        shutil.copytree(template, root, symlinks=True)

        def moved(path: Path) -> Path:
            return root / path.relative_to(template)

        yield Example(layout, root, Current(
            moved(current.manifest) if current.manifest else None,
            tuple(moved(path) for path in current.files)))
