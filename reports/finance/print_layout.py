"""How a sheet prints as part of a month-end pack (printed, or saved as PDF).

Every sheet prints landscape, one page wide and as many pages down as it needs, with the
report's title, the sheet's name and the page number at the top of every page and the time the
workbook was made at the bottom. Each block (a table with its chart) starts a new page when it
would not fit on the rest of the current one, and the header row of the sheet's last long table
(the only one a sheet can repeat: Excel has one range of print titles per sheet, repeated from
where it first appears) is printed again at the top of every page it runs over.

Page breaks are planned here from the row heights and the column widths the sheet computed,
for the smaller of A4 and Letter in each direction, so they hold whichever paper the printer
has. Excel and LibreOffice compute the scale that fits one page wide themselves. A sheet of
forty columns (Detail) prints at about a sixth of its size that way: legible in a PDF viewer,
not on paper; the sheet itself, or the CSV / Parquet extract, is the way to read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xlsxwriter.worksheet import Worksheet

# Inches. Landscape: A4 is 11.69 × 8.27, Letter 11 × 8.5.
_MARGIN_SIDE = 0.5
_MARGIN_TOP = 0.75
_MARGIN_BOTTOM = 0.75
_HEADER_MARGIN = 0.3
PRINTABLE_PIXELS = int((11.69 - 2 * _MARGIN_SIDE) * 96)  # A4 across: the larger scale
PRINTABLE_POINTS = (8.27 - _MARGIN_TOP - _MARGIN_BOTTOM) * 72 - 12  # A4 down, less a row of slack
ROW_POINTS = 15.0  # a row of the default font
ROW_PIXELS = 20


@dataclass(frozen=True)
class PageTitle:
    """What the top and bottom of every page say."""

    report: str  # "Allocated cost, 2026-10"
    footer: str = ""  # "Generated 2026-11-03 06:12 UTC"

    def header_code(self) -> str:
        return f"&L&\"-,Bold\"{_escape(self.report, 90)}&C&A&RPage &P of &N"

    def footer_code(self) -> str:
        return f"&L{_escape(self.footer, 90)}&R&F" if self.footer else "&R&F"


def _escape(text: str, limit: int) -> str:
    """Header text: `&` starts a code, and Excel stops at 255 characters for the whole header."""
    cut = text if len(text) <= limit else text[:limit - 1] + "…"
    return cut.replace("&", "&&")


def fit_scale(content_pixels: int) -> float:
    """The scale a page-wide sheet prints at (at most 1: a narrow sheet is not blown up)."""
    return min(1.0, PRINTABLE_PIXELS / content_pixels) if content_pixels else 1.0


def plan_breaks(heights: Sequence[float], blocks: Sequence[int], scale: float) -> list[int]:
    """Rows to break the page before: every block (rows from one start in `blocks` to the next)
    that would not fit on the rest of the current page starts a new one, unless it is longer
    than a page anyway. `heights` are the points of every row at full size."""
    capacity = PRINTABLE_POINTS / scale
    starts = sorted({0, *(b for b in blocks if 0 < b < len(heights))})
    breaks: list[int] = []
    used = 0.0
    for start, end in zip(starts, [*starts[1:], len(heights)], strict=True):
        height = sum(heights[start:end])
        if used and used + height > capacity and height <= capacity:
            breaks.append(start)
            used = 0.0
        used = (used + height) % capacity if used + height > capacity else used + height
    return breaks


@dataclass(frozen=True)
class PrintSetup:
    """Everything one worksheet needs to print: applied when the sheet is complete."""

    title: PageTitle
    last_row: int
    last_col: int
    repeat_rows: tuple[int, int] | None = None
    breaks: Sequence[int] = ()

    def apply(self, worksheet: Worksheet) -> None:
        worksheet.set_landscape()
        worksheet.set_margins(left=_MARGIN_SIDE, right=_MARGIN_SIDE, top=_MARGIN_TOP,
                              bottom=_MARGIN_BOTTOM)
        worksheet.set_header(self.title.header_code(), {"margin": _HEADER_MARGIN})
        worksheet.set_footer(self.title.footer_code(), {"margin": _HEADER_MARGIN})
        if self.repeat_rows is not None:
            worksheet.repeat_rows(*self.repeat_rows)
        worksheet.fit_to_pages(1, 0)
        worksheet.print_area(0, 0, max(self.last_row, 0), max(self.last_col, 0))
        if self.breaks:
            worksheet.set_h_pagebreaks(list(self.breaks))

