"""The finance workbook, read back with openpyxl: the numbers tie out across sheets, rounded
cells add up, the charts and tables are there, and a sheet splits at the row limit."""

from __future__ import annotations

import json
import re
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from costalloc.reports.finance import sheets
from costalloc.reports.finance.extracts import export, export_workbook
from costalloc.reports.finance.rounding import round_half_up
from costalloc.reports.finance.summary import allocation_summary, render
from costalloc.warehouse.connection import connect
from tests.reports.builders import FORMULA_RESOURCE, OCTOBER, SEPTEMBER, totals

Row = tuple[Any, ...]


def _rows(sheet: Worksheet) -> list[Row]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _block(sheet: Worksheet, title: str) -> tuple[Row, list[Row]]:
    """The header and the rows of the block under the heading `title` (up to a blank row)."""
    rows = _rows(sheet)
    start = next(i for i, row in enumerate(rows) if row[0] == title)
    header = rows[start + 1]
    body = []
    for row in rows[start + 2:]:
        if all(cell is None for cell in row):
            break
        body.append(row)
    return header, body


def _table_at(sheet: Worksheet, first_header: str) -> tuple[Row, list[Row]]:
    """The header row that starts with `first_header` and the rows under it."""
    rows = _rows(sheet)
    start = next(i for i, row in enumerate(rows) if row[0] == first_header)
    body = []
    for row in rows[start + 1:]:
        if all(cell is None for cell in row):
            break
        body.append(row)
    return rows[start], body


def _verdict(sheet: Worksheet) -> str:
    """The line under a sheet's title and notes that says what it found (in bold, not italic)."""
    return next(str(cell.value) for cell in sheet["A"][1:8]
                if cell.value and not cell.font.italic)


def _money(value: Any) -> Decimal:
    """A cell's number as Excel shows it to the cent (a double written from a Decimal)."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if value is not None else Decimal(0)


def _detail(book: openpyxl.Workbook, prefix: str = "Detail") -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for sheet in book.worksheets:
        if sheet.title == prefix or sheet.title.startswith(f"{prefix} "):
            rows = _rows(sheet)
            records += [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    return records


@pytest.fixture(scope="module")
def october(published: duckdb.DuckDBPyConnection,
            tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    """October's workbook, written and read back once for the tests that only look at it."""
    out = tmp_path_factory.mktemp("workbook") / "out"
    path = export(published, "allocated", OCTOBER, "xlsx", out)
    assert path == out / "allocated_2026-10.xlsx"
    return openpyxl.load_workbook(path)


def test_summary_total_equals_detail_sum_equals_reconciliation_total(
        october: openpyxl.Workbook, published: duckdb.DuckDBPyConnection) -> None:
    assert october.sheetnames == ["Summary", "Detail", "Unallocated", "CapEx", "Reconciliation",
                                  "About"]
    exact = totals(published, OCTOBER)
    assert set(exact) == {"EUR", "USD"}
    detail: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for record in _detail(october):
        detail[record["BillingCurrency"]][0] += _money(record["BilledCost"])
        detail[record["BillingCurrency"]][1] += _money(record["EffectiveCost"])
    recon_header, recon = _table_at(october["Reconciliation"], "Period")
    for currency, (billed, effective) in exact.items():
        _, pivot = _block(october["Summary"], f"{currency}: allocated cost by environment × "
                                              "workstream × cost type")
        total = next(row for row in pivot if row[1] == "Total")
        recon_total = next(row for row in recon if row[0] == "Total" and row[2] == currency)
        allocated = dict(zip(recon_header, recon_total, strict=True))
        assert _money(total[6]) == round_half_up(billed) == round_half_up(detail[currency][0])
        assert _money(total[7]) == round_half_up(effective) == round_half_up(detail[currency][1])
        assert _money(allocated["Allocated BilledCost"]) == round_half_up(billed)
        assert _money(allocated["Allocated EffectiveCost"]) == round_half_up(effective)
    assert len(_detail(october)) == published.sql(
        "select count(*) from allocated_costs where x_billing_period = '2026-10'").fetchall()[0][0]


def test_rounded_cells_add_up_to_the_subtotals_and_totals_shown(
        october: openpyxl.Workbook) -> None:
    summary = october["Summary"]
    for currency in ("EUR", "USD"):
        _, pivot = _block(summary, f"{currency}: allocated cost by environment × workstream × "
                                   "cost type")
        cells = [r for r in pivot if r[2] is not None]
        subtotals = [r for r in pivot if str(r[1]).endswith(" subtotal")]
        total = next(r for r in pivot if r[1] == "Total")
        for col in (6, 7):  # BilledCost, EffectiveCost
            for subtotal in subtotals:
                provider = subtotal[1].removesuffix(" subtotal")
                assert sum(_money(r[col]) for r in cells if r[1] == provider) == _money(
                    subtotal[col])
            assert sum(_money(r[col]) for r in subtotals) == _money(total[col])
            assert all(_money(r[col]) == _money(r[col]).quantize(Decimal("0.01")) for r in cells)
        _, by_workstream = _block(summary, f"{currency}: spend by workstream")
        ws_total = by_workstream[-1]
        assert ws_total[1] == "Total"
        for col in (2, 3):
            assert sum(_money(r[col]) for r in by_workstream[:-1]) == _money(ws_total[col])
            assert _money(ws_total[col]) == _money(total[col + 4])
    header, recon = _table_at(october["Reconciliation"], "Period")
    for currency in ("EUR", "USD"):
        rows = [r for r in recon if r[2] == currency]
        for col in range(4, 9):
            assert sum(_money(r[col]) for r in rows[:-1]) == _money(rows[-1][col]), header[col]


def test_the_total_and_the_unallocated_amount_are_one_figure_wherever_they_are_shown(
        october: openpyxl.Workbook, published: duckdb.DuckDBPyConnection) -> None:
    """Every table of the Summary, the Reconciliation and the terminal summary show each
    currency's total and its unallocated amount as the same figure: the exact amount rounded
    half-up (so a reader adding up the Detail gets it too)."""
    exact = {str(c): [Decimal(v) for v in values] for c, *values in published.sql(
        "select BillingCurrency, sum(BilledCost), sum(EffectiveCost), "
        "sum(BilledCost) filter ('unallocated' in (environment, workstream, cost_type)), "
        "sum(EffectiveCost) filter ('unallocated' in (environment, workstream, cost_type)), "
        "count(*) filter ('unallocated' in (environment, workstream, cost_type) "
        "and workstream <> 'unallocated') "
        "from allocated_costs where x_billing_period = '2026-10' group by 1").fetchall()}
    summary = october["Summary"]
    _, headline = _block(summary, "Totals per billing currency")
    _, recon = _table_at(october["Reconciliation"], "Period")
    terminal = render(allocation_summary(published, OCTOBER)).split("\n[")
    for currency, (billed, effective, unallocated_billed, unallocated_effective,
                   elsewhere) in exact.items():
        total = (round_half_up(billed), round_half_up(effective))
        unallocated = (round_half_up(unallocated_billed), round_half_up(unallocated_effective))
        _, pivot = _block(summary, f"{currency}: allocated cost by environment × workstream × "
                                   "cost type")
        _, by_workstream = _block(summary, f"{currency}: spend by workstream")
        shown_totals = [(r[6], r[7]) for r in [*headline, *pivot]
                        if r[0] == currency and r[1] == "Total"]
        shown_totals += [(r[2], r[3]) for r in by_workstream if r[1] == "Total"]
        shown_totals += [(r[6], r[8]) for r in recon if r[0] == "Total" and r[2] == currency]
        assert len(shown_totals) == 4  # the headline, the pivot, by workstream, reconciliation
        assert {(_money(b), _money(e)) for b, e in shown_totals} == {total}
        shown_unallocated = [(r[6], r[7]) for r in [*headline, *pivot]
                             if r[0] == currency and r[1] == "of which unallocated"]
        cells = [r for r in pivot if r[2] is not None]
        shown_unallocated.append((sum(_money(r[6]) for r in cells if "unallocated" in r[2:5]),
                                  sum(_money(r[7]) for r in cells if "unallocated" in r[2:5])))
        assert elsewhere == 0  # here all unallocated cost has no workstream: the same figure
        shown_unallocated += [(r[2], r[3]) for r in by_workstream if r[1] == "unallocated"]
        assert len(shown_unallocated) == 4  # headline, pivot, its cells, by workstream
        assert {(_money(b), _money(e)) for b, e in shown_unallocated} == {unallocated}
        printed = next(block for block in terminal if block.startswith(f"{currency}]"))
        assert f"unallocated: {unallocated[0]:,} {currency}" in printed
        assert re.search(rf"^total +{re.escape(f'{total[0]:,}')} +{re.escape(f'{total[1]:,}')} ",
                         printed, re.MULTILINE)


def _column_widths(sheet: Worksheet) -> dict[int, float]:
    return {col: float(d.width) for d in sheet.column_dimensions.values() if d.width
            for col in range(d.min, d.max + 1)}


def test_every_column_is_wide_enough_for_what_it_shows(october: openpyxl.Workbook) -> None:
    """No `#####` and no cut label at first open: each column is at least as wide as its
    values shown with their number format (text up to 60 characters). Text that ends its row
    runs over the empty cells to its right: it needs the room up to the sheet's last column,
    and a title or a note needs all of it."""
    for sheet in october.worksheets:
        widths = _column_widths(sheet)
        for row in sheet.iter_rows():
            cells = [c for c in row if c.value is not None]
            for cell in cells:
                value, code = cell.value, cell.number_format
                if cell is cells[-1] and isinstance(value, str):
                    room = sum(widths.get(c, 8.43) for c in range(cell.column, sheet.max_column + 1))
                    need = len(value) * (cell.font.sz or 11) / 11 * (1.1 if cell.font.b else 1)
                    assert room >= (need if len(cells) == 1 else min(need, 60)), cell.coordinate
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    shown = min(len(str(value)), 60) if isinstance(value, str) else 16
                else:  # at least the cents, and the currency the format puts in front
                    prefix = code[2:5] + " " if code.startswith("[$") else ""
                    shown = len(f"{prefix}{value:,.2f}") if "0.0" in code else len(f"{value:,}")
                assert widths.get(cell.column, 8.43) >= shown, (
                    f"{sheet.title}!{cell.coordinate} {value!r}: column {widths.get(cell.column)}")


def test_a_value_longer_than_a_cell_holds_is_cut_visibly_and_listed_on_the_about_sheet(
        warehouse_file: Path, tmp_path: Path) -> None:
    huge = json.dumps({f"team-{i:05d}": "x" * 20 for i in range(1_500)})  # 43,501 characters
    con = connect(warehouse_file)
    con.execute("update line_items set Tags = $tags where x_billing_period = '2026-10' "
                "and x_source = 'aws' and x_line_item_id = 7", {"tags": huge})
    path = export(con, "allocated", OCTOBER, "xlsx", tmp_path)
    con.close()
    book = openpyxl.load_workbook(path)
    cut = [(sheet.title, cell) for sheet in book.worksheets for row in sheet.iter_rows()
           for cell in row if isinstance(cell.value, str) and cell.value.startswith("[cut: ")]
    assert cut and {title for title, _ in cut} <= {"Detail", "Unallocated"}
    mark = (f"[cut: {len(huge):,} characters, more than the 32,767 an Excel cell holds; the full "
            "value is in the CSV / Parquet extract] ")
    for _, cell in cut:
        assert cell.value.startswith(mark) and len(cell.value) == 32_767
        assert huge.startswith(cell.value[len(mark):])  # the start of the value, as it was
    for record in _detail(book) + _detail(book, "Unallocated"):
        if record["Tags"] and not record["Tags"].startswith("[cut: "):
            json.loads(record["Tags"])  # every other tag cell is whole JSON
    about = [" ".join(str(c) for c in row if c) for row in _rows(book["About"])]
    at = next(i for i, line in enumerate(about) if line.startswith("Cells cut"))
    text = " ".join(about[at:at + 4])
    assert f"{len(cut)} value(s) longer than the 32,767 characters an Excel cell holds" in text
    for title, cell in cut:
        assert f"{title}!{cell.coordinate} (Tags, {len(huge):,} characters)" in text
    assert "`costalloc export allocated --period 2026-10 --format parquet`" in text
    clean = {r[0]: r[1] for r in _rows(load_about(tmp_path / "clean", warehouse_file)) if r[0]}
    assert clean["Cells cut"].startswith("none: every value fits in its cell")


def load_about(out: Path, warehouse: Path) -> Worksheet:
    con = connect(warehouse, read_only=True)
    try:
        return openpyxl.load_workbook(export(con, "allocated", SEPTEMBER, "xlsx", out))["About"]
    finally:
        con.close()


def test_a_table_workbook_with_a_cut_value_gets_an_about_sheet_that_says_so(
        warehouse_file: Path, tmp_path: Path) -> None:
    con = connect(warehouse_file)
    con.execute("update line_items set Tags = $tags where x_billing_period = '2026-10' and "
                "x_source = 'aws' and x_line_item_id = 3", {"tags": json.dumps({"k": "v" * 40_000})})
    length = con.sql("select length(Tags::varchar) from line_items where x_source = 'aws' and "
                     "x_billing_period = '2026-10' and x_line_item_id = 3").fetchall()[0][0]
    path = export(con, "line-items", OCTOBER, "xlsx", tmp_path)
    con.close()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Line items", "About"]
    about = " ".join(str(c) for row in _rows(book["About"]) for c in row if c)
    assert "1 value(s) longer than the 32,767 characters" in about
    assert "Line items!" in about and f"(Tags, {length:,} characters)" in about


def test_every_sheet_prints_landscape_one_page_wide_with_titles_and_repeated_headers(
        october: openpyxl.Workbook) -> None:
    for sheet in october.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
        assert sheet.oddHeader.left.text == "costalloc: allocated cost, 2026-10"
        assert (sheet.oddHeader.center.text, sheet.oddHeader.right.text) == ("&A",
                                                                             "Page &P of &N")
        assert sheet.oddFooter.left.text.startswith("Generated ")
    assert october["Detail"].print_title_rows == "$1:$1"
    assert october["Unallocated"].print_title_rows == "$1:$1"
    recon_header = next(i for i, r in enumerate(_rows(october["Reconciliation"]), start=1)
                        if r[0] == "Period")
    assert october["Reconciliation"].print_title_rows == f"${recon_header}:${recon_header}"
    capex_rows = _rows(october["CapEx"])
    schedule = max(i for i, r in enumerate(capex_rows, start=1) if r[0] == "x_billing_period")
    assert october["CapEx"].print_title_rows == f"${schedule}:${schedule}"  # the long table


def test_each_chart_sits_under_its_table_across_the_printed_width(
        october: openpyxl.Workbook) -> None:
    summary = october["Summary"]
    rows = _rows(summary)
    for chart in summary._charts:
        anchor = chart.anchor._from
        above = [r for r in rows[:anchor.row] if r[0] is not None]
        assert above[-1][1] == "Total"  # right under its table's last row
        table = next(r[0] for r in reversed(rows[:anchor.row])
                     if isinstance(r[0], str) and r[0].endswith(": spend by workstream"))
        assert table.split(":")[0] in chart.title.tx.rich.p[0].r[0].t
        assert anchor.col == 0 and chart.anchor.to.col == summary.max_column
        assert not any(any(c is not None for c in r) for r in rows[anchor.row:chart.anchor.to.row])
    assert summary.print_area == f"'Summary'!$A$1:$I${max(c.anchor.to.row for c in summary._charts)}"


def test_summary_has_a_native_chart_by_workstream_and_by_month_for_a_range(
        published: duckdb.DuckDBPyConnection, october: openpyxl.Workbook, tmp_path: Path) -> None:
    assert len(october["Summary"]._charts) == 2  # one per currency: spend by workstream
    path = export_workbook(published, "allocated", SEPTEMBER, OCTOBER, tmp_path)
    assert path.name == "allocated_2026-09_2026-10.xlsx"
    with zipfile.ZipFile(path) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist()
                  if n.startswith("xl/charts/chart")]
    assert len(charts) == 4  # + BilledCost by month, per currency
    assert sum("<c:barChart>" in c and "Summary!$A$" in c for c in charts) == 2  # months axis
    both = openpyxl.load_workbook(path, read_only=True)
    header, block = _block(both["Summary"], "USD: BilledCost by month and workstream")
    width = header.index("Total") + 1
    header, months = header[:width], [row[:width] for row in block]
    assert [r[0] for r in months] == ["2026-09", "2026-10", "Total"]
    for row in months[:-1]:
        assert sum(_money(v) for v in row[1:-1]) == _money(row[-1])
    assert _money(months[-1][-1]) == sum(_money(r[-1]) for r in months[:-1]) == round_half_up(
        totals(published)["USD"][0])


def test_detail_is_an_excel_table_with_filters_a_frozen_header_and_currency_formats(
        october: openpyxl.Workbook) -> None:
    detail = october["Detail"]
    assert detail.freeze_panes == "A2"
    assert list(detail.tables) == ["Detail"]
    table = detail.tables["Detail"]
    assert table.ref == f"A1:{detail.cell(1, detail.max_column).column_letter}{detail.max_row}"
    assert table.autoFilter is not None
    header = [c.value for c in detail[1]]
    for name in ("BilledCost", "EffectiveCost", "environment", "workstream", "cost_type",
                 "x_environment_rule", "x_split_rule", "x_split_ratio", "Tags",
                 "AllocatedMethodDetails", "x_rules_version", "x_allocation_run_id"):
        assert name in header
    currency, billed = header.index("BillingCurrency") + 1, header.index("BilledCost") + 1
    formats = {detail.cell(r, currency).value: detail.cell(r, billed).number_format
               for r in range(2, detail.max_row + 1)}
    assert formats["USD"].startswith("[$USD]") and formats["EUR"].startswith("[$EUR]")
    # Amounts are numbers, never text or formulas.
    assert all(isinstance(detail.cell(r, billed).value, float | int)
               for r in range(2, detail.max_row + 1))
    split: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for record in _detail(october):
        if record["x_split_rule"] is not None:
            split[(record["x_source"], record["x_line_item_id"])].append(record)
    assert split, "the demo rules split shared cost"
    for parts in split.values():
        assert sum(p["x_split_ratio"] for p in parts) == pytest.approx(1, abs=1e-12)
        assert all(p["x_split_method"] and p["AllocatedMethodId"] for p in parts)


def test_text_that_looks_like_a_formula_stays_text(october: openpyxl.Workbook) -> None:
    cells = [r["ResourceId"] for r in _detail(october) if r["x_line_item_id"] == 5]
    assert cells == [FORMULA_RESOURCE]  # openpyxl reads a formula as "=..." only if it is one
    detail = october["Detail"]
    header = [c.value for c in detail[1]]
    column = header.index("ResourceId") + 1
    cell = next(detail.cell(r, column) for r in range(2, detail.max_row + 1)
                if detail.cell(r, column).value == FORMULA_RESOURCE)
    assert cell.data_type == "s"


def test_unallocated_is_largest_first_with_its_tags(october: openpyxl.Workbook,
                                                    published: duckdb.DuckDBPyConnection) -> None:
    rows = _detail(october, "Unallocated")
    assert rows and all("unallocated" in (r["environment"], r["workstream"], r["cost_type"])
                        for r in rows)
    sizes = [abs(_money(r["BilledCost"])) for r in rows]
    assert sizes == sorted(sizes, reverse=True)
    assert any(r["Tags"] and r["Tags"].startswith("{") for r in rows)
    assert sum(r["x_allocated_rows"] for r in rows) == published.sql(
        "select count(*) from allocated_costs where x_billing_period = '2026-10' and "
        "'unallocated' in (environment, workstream, cost_type)").fetchall()[0][0]


def test_capex_sheet_lists_projects_and_a_schedule_that_adds_up(
        october: openpyxl.Workbook, published: duckdb.DuckDBPyConnection) -> None:
    capex = october["CapEx"]
    assert set(capex.tables) == {"CapEx_project_cost", "CapEx_schedule"}
    header, body = _table_at(capex, "x_billing_period")
    cost = [dict(zip(header, r, strict=True)) for r in body]
    expected = published.sql(
        "select x_capex_project, x_capex_phase, x_capex_approval, sum(BilledCost), "
        "sum(EffectiveCost) from allocated_costs where x_billing_period = '2026-10' and "
        "cost_type = 'capex' group by all").fetchall()
    capitalized = [r for r in cost if r["cost_type"] == "capex"]
    assert {(r["x_capex_project"], r["x_capex_phase"], r["x_capex_approval"])
            for r in capitalized} == {row[:3] for row in expected}
    assert all(r["x_capex_approval"] for r in capitalized)  # CapEx only with evidence
    assert sum(_money(r["EffectiveCost"]) for r in capitalized).quantize(Decimal("0.01")) == sum(
        row[4] for row in expected).quantize(Decimal("0.01"))
    kinds = {r["x_capex_kind"] for r in cost}
    assert {"capitalized", "expensed", "asset purchase", "depreciation"} <= kinds
    purchase = next(r for r in cost if r["x_capex_kind"] == "asset purchase")
    assert purchase["x_source"] == "on-prem" and _money(purchase["BilledCost"]) == 312000
    assert all(_money(r["BilledCost"]) == 0 for r in cost if r["x_capex_kind"] == "depreciation")

    rows = _rows(capex)
    start = next(i for i, r in enumerate(rows) if r[0] == "Amortization schedule as of 2026-10")
    at = next(i for i in range(start, len(rows)) if rows[i][0] == "x_billing_period")
    header = rows[at]
    schedule = [dict(zip(header, r, strict=True)) for r in rows[at + 1:] if r[0] is not None]
    assets = {(r["BillingCurrency"], r["x_capex_project"]): r for r in schedule
              if r["x_month_number"] == 1}
    cloud = {(currency, project): amount for currency, project, amount in published.sql(
        "select BillingCurrency, x_capex_project, sum(EffectiveCost) from allocated_costs "
        "where cost_type = 'capex' and x_source = 'aws' and x_billing_period <= '2026-10' "
        "group by all").fetchall()}
    assert set(assets) == set(cloud)  # the asset register's own rows are not scheduled again
    assert assets[("USD", "data-platform")]["x_schedule_status"] == "in service"
    assert assets[("USD", "data-platform")]["x_in_service_period"] == "2026-10"
    still_capitalizing = {key for key, r in assets.items()
                          if r["x_last_capitalized_period"] == "2026-10"}
    assert still_capitalizing, "the demo's development phase runs through October"
    for key in still_capitalizing:
        assert assets[key]["x_schedule_status"] == "provisional"
        assert assets[key]["x_in_service_period"] == "2026-11"
    for key, asset in assets.items():
        months = [r for r in schedule if (r["BillingCurrency"], r["x_capex_project"]) == key]
        life = asset["x_useful_life_months"]
        assert [r["x_month_number"] for r in months] == list(range(1, life + 1))
        assert sum(_money(r["x_amortization"]) for r in months) == round_half_up(cloud[key])
        assert _money(months[-1]["x_net_book_value"]) == 0
        each = [_money(r["x_amortization"]) for r in months]
        assert max(each) - min(each) <= Decimal("0.01")


def test_reconciliation_and_about_say_where_the_numbers_come_from(
        october: openpyxl.Workbook, published: duckdb.DuckDBPyConnection) -> None:
    recon = october["Reconciliation"]
    header, rows = _table_at(recon, "Period")
    records = [dict(zip(header, r, strict=True)) for r in rows if r[0] != "Total"]
    assert _verdict(recon) == f"All {len(records)} (period, source, currency) rows tie out exactly."
    by_source = {(r["Source"], r["Currency"]): r for r in records}
    assert set(by_source) == {("aws", "EUR"), ("aws", "USD"), ("on-prem", "USD")}
    invoices = dict(published.sql("select BillingCurrency, string_agg(distinct InvoiceId, ', ' "
                                "order by InvoiceId) from line_items where x_billing_period = "
                                "'2026-10' and x_source = 'aws' group by 1").fetchall())
    for (source, currency), row in by_source.items():
        assert row["Status"] == "ties out"
        assert row["Raw export total"] == row["line_items BilledCost"] == row[
            "Allocated BilledCost"]
        if source == "aws":
            assert row["Invoice ids"] == invoices[currency]

    about = {r[0]: r[1] for r in _rows(october["About"]) if r[0]}
    assert about["Billing period(s)"] == "2026-10"
    assert about["Allocation run id(s)"] == "alloc-2026-10"
    assert "Sources" in about
    version = published.sql("select distinct x_rules_version from allocated_costs").fetchall()
    assert about["Rules version(s)"] == version[0][0]
    fingerprint = published.sql("select fingerprint from ingest_log where billing_period = "
                              "'2026-10'").fetchall()[0][0]
    assert any(fingerprint in row for row in _rows(october["About"]))


def test_a_table_longer_than_a_sheet_continues_on_the_next_sheet(
        published: duckdb.DuckDBPyConnection, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "EXCEL_MAX_ROWS", 400)
    path = export(published, "allocated", OCTOBER, "xlsx", tmp_path)
    book = openpyxl.load_workbook(path)
    count = published.sql("select count(*) from allocated_costs "
                        "where x_billing_period = '2026-10'").fetchall()[0][0]
    parts = [s for s in book.worksheets if s.title == "Detail" or s.title.startswith("Detail ")]
    assert len(parts) == -(-count // 399) > 1  # 399 data rows under each header
    assert [s.title for s in parts] == ["Detail"] + [f"Detail {n}" for n in
                                                     range(2, len(parts) + 1)]
    for sheet in parts:
        assert sheet.max_row <= 400
        assert sheet.freeze_panes == "A2"
        assert len(sheet.tables) == 1
    records = _detail(book)
    assert len(records) == count
    keys = {(r["x_source"], r["x_line_item_id"], r["environment"], r["workstream"],
             r["cost_type"], r["x_split_ratio"]) for r in records}
    assert len(keys) == count  # every row once: none lost, none repeated
    billed = sum((_money(r["BilledCost"]) for r in records if r["BillingCurrency"] == "USD"),
                 Decimal(0))
    assert round_half_up(billed) == round_half_up(totals(published, OCTOBER)["USD"][0])
    assert book.sheetnames.index("Unallocated") == len(parts) + 1  # right after the Detail parts


def test_line_items_still_export_as_a_workbook(published: duckdb.DuckDBPyConnection,
                                               tmp_path: Path) -> None:
    path = export(published, "line-items", OCTOBER, "xlsx", tmp_path)
    assert path.name == "line_items_2026-10.xlsx"
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book["Line items"].iter_rows(values_only=True))
    assert len(rows) - 1 == published.sql("select count(*) from line_items "
                                        "where x_billing_period = '2026-10'").fetchall()[0][0]


def test_a_period_with_nothing_allocated_still_makes_a_readable_workbook(
        published: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from costalloc.core.period import BillingPeriod

    path = export(published, "allocated", BillingPeriod(2025, 1), "xlsx", tmp_path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Detail", "Unallocated", "CapEx", "Reconciliation",
                               "About"]
    assert _verdict(book["Summary"]) == "No allocated cost for 2025-01."
    assert [c.value for c in book["Detail"][2]][:1] == ["(no rows)"]
    assert _verdict(book["Reconciliation"]) == "Nothing loaded for 2025-01."
