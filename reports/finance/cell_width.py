"""How many characters a cell shows: a value under its number format, as Excel and LibreOffice
draw it (`1234.5` under `[$USD] #,##0.00` is `USD 1,234.50`, 12 characters).

A sheet sizes each column to the widest value written in it (`ColumnWidths`), so nothing shows
`#####` or is cut at first open. Text columns stop at `MAX_TEXT_WIDTH` (a JSON tag column of
400 characters would push every other column off the screen and off the page); numbers never
stop, since a cut number is a wrong number. Streamed tables are measured a whole Arrow batch
at a time (`batch_width`), so measuring costs a few vectorized passes, not a Python call per
cell.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pyarrow as pa
import pyarrow.compute as pc

MAX_TEXT_WIDTH = 60  # characters; longer text is cut at the column edge on screen and paper
MIN_WIDTH = 4
PADDING = 2  # Excel's own autofit leaves about this much room around the text
FILTER_BUTTON = 2  # a table header's filter button sits on the header text
BOLD = 1.1  # bold glyphs are about a tenth wider
DIGIT_PIXELS = 7  # width of a digit of the default font (Calibri 11) at 96 dpi
_CURRENCY_PREFIX = re.compile(r"^\[\$([^\]-]*)[^\]]*\]\s*")


@dataclass(frozen=True)
class NumberFormat:
    """The parts of an Excel number format that decide how wide a number is shown."""

    prefix: str  # `USD ` from `[$USD] `
    grouped: bool  # thousands separators
    min_decimals: int
    max_decimals: int
    percent: bool

    @classmethod
    def parse(cls, code: str | None) -> NumberFormat | None:
        """None for the General format (and for date formats, which are not numbers here)."""
        if not code or code == "General" or any(c in code for c in "ymdhs"):
            return None
        prefix = ""
        match = _CURRENCY_PREFIX.match(code)
        if match:
            prefix, code = f"{match.group(1)} ", code[match.end():]
        percent = code.endswith("%")
        body = code.rstrip("%")
        whole, _, fraction = body.partition(".")
        return cls(prefix, "," in whole, fraction.count("0"), fraction.count("0") +
                   fraction.count("#"), percent)

    def text(self, value: float | int | Decimal) -> str:
        """`value` as this format shows it."""
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not amount.is_finite():
            return str(amount)
        if self.percent:
            amount *= 100
        amount = amount.quantize(Decimal(1).scaleb(-self.max_decimals), ROUND_HALF_EVEN)
        text = f"{amount:,f}" if self.grouped else f"{amount:f}"
        if "." in text:
            whole, fraction = text.split(".")
            fraction = fraction.rstrip("0").ljust(self.min_decimals, "0")
            text = f"{whole}.{fraction}" if fraction else whole
        elif self.min_decimals:
            text += "." + "0" * self.min_decimals
        return f"{self.prefix}{text}{'%' if self.percent else ''}"


def shown_width(value: object, num_format: str | None) -> int:
    """Characters `value` takes on screen under `num_format`."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5  # FALSE
    if isinstance(value, (datetime, date)):
        return len(num_format or "yyyy-mm-dd hh:mm")
    if isinstance(value, (int, float, Decimal)):
        number = NumberFormat.parse(num_format)
        if number is None:  # General: up to 11 characters, then Excel switches to 1.2E+15
            return min(len(repr(value)), 11)
        return len(number.text(value))
    return max((len(line) for line in str(value).split("\n")), default=0)


def header_width(text: str) -> int:
    """A header is shown whole on one line: a wrapped header needs a taller row, which a
    streamed sheet would have to size before it knows its column widths (and Excel and
    LibreOffice don't grow it on opening), so its second line would sit on the first row."""
    return len(text)


def batch_width(column: pa.Array, code: str | None) -> int:
    """The widest value of an Arrow column under `code`, without a Python loop.

    Decimals and floats are measured from their text: the integer digits with separators, and
    the decimals the format shows (its minimum, up to its maximum when the value has them).
    Exact for amounts the format shows in full; a character or two wider when it rounds them."""
    if len(column) == column.null_count:
        return 0
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return int(pc.max(pc.utf8_length(column)).as_py() or 0)
    if pa.types.is_boolean(kind):
        return 5
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return len(code or "yyyy-mm-dd hh:mm")
    number = NumberFormat.parse(code)
    if pa.types.is_integer(kind):
        extremes = pc.min_max(column).as_py()
        return max(shown_width(v, code) for v in extremes.values() if v is not None)
    if not (pa.types.is_decimal(kind) or pa.types.is_floating(kind)):
        return int(pc.max(pc.utf8_length(pc.cast(column, pa.string()))).as_py() or 0)
    if number is None:
        return 11
    if number.percent:  # short: measure the extremes
        extremes = pc.min_max(column).as_py()
        return max(len(number.text(v)) for v in extremes.values() if v is not None)
    text = pc.cast(column, pa.string())
    if pa.types.is_decimal(kind):  # Arrow writes a zero of scale 10 as 0E-10
        text = pc.if_else(pc.equal(column, 0), pa.scalar("0"), text)
    # Arrow writes tiny decimals (1E-7) and large or tiny floats (1e+10) in scientific
    # notation: those few are measured one by one
    scientific = pc.match_substring(text, "e", ignore_case=True)
    odd = max((shown_width(v, code) for v in pc.filter(column, scientific).to_pylist()
               if v is not None), default=0)
    text = pc.filter(text, pc.invert(scientific))
    if len(text) == 0:
        return odd
    dot = pc.find_substring(text, ".")
    length = pc.utf8_length(text)
    whole = pc.if_else(pc.less(dot, 0), length, dot)  # digits before the point, and the sign
    sign = pc.if_else(pc.starts_with(text, "-"), 1, 0)
    trimmed = pc.utf8_length(pc.utf8_rtrim(text, characters="0"))
    decimals = pc.if_else(pc.less(dot, 0), 0, pc.subtract(pc.subtract(trimmed, dot), 1))
    shown_decimals = pc.min_element_wise(pc.max_element_wise(decimals, number.min_decimals),
                                         number.max_decimals)
    # rounding away decimals can carry into a new digit (99.995 → 100.00): room for one
    carry = pc.if_else(pc.greater(decimals, number.max_decimals), 1, 0)
    digits = pc.add(pc.subtract(whole, sign), carry)
    separators = pc.divide(pc.subtract(digits, 1), 3) if number.grouped else pc.multiply(whole, 0)
    point = pc.if_else(pc.greater(shown_decimals, 0), 1, 0)
    widths = pc.add(pc.add(pc.add(pc.add(whole, carry), separators), point), shown_decimals)
    return max(odd, len(number.prefix) + int(pc.max(widths).as_py() or 0))


def column_width(characters: float) -> float:
    """Excel's column width (in digit widths) for `characters` of text, padded."""
    return float(max(MIN_WIDTH, math.ceil(characters) + PADDING))


def column_pixels(width: float) -> int:
    """A column's width on screen at 96 dpi, as Excel computes it from its width."""
    return int(width * DIGIT_PIXELS + 0.5) + 5
