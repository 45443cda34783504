"""Charts drawn on the server as SVG: no script, no CDN, readable offline and when printed.

Each chart is an image (`role="img"`) with a title and a description, and the page puts the
table with the same numbers right below it, so the numbers never live only in a picture. Bars
start at zero and go left (or down) for credits. Colours come from one palette with at least
3:1 contrast against the white page, in a fixed order per dimension value so a workstream keeps
its colour across charts. Pure functions: numbers in, markup out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#c25e00", "#2e7d32", "#7b3fa0", "#b3261e", "#00796b", "#8a6d00",
           "#ad1457", "#455a64")
WIDTH = 1120  # drawn at its natural size on a wide screen, scaled down on a narrow one
NEUTRAL = "#6b7280"  # unallocated, and anything outside a known order
KNOWN = ("experimentation", "platform_build", "production_operations", "risk_compliance",
         "development", "staging", "production")
_ids = itertools.count(1)


FIXED = {"unallocated": NEUTRAL, "capex": "#00796b", "opex": "#4a5a70"}


def colour(value: str, order: Sequence[str] = KNOWN) -> str:
    if value in FIXED:
        return FIXED[value]
    if value in order:
        return PALETTE[order.index(value) % len(PALETTE)]
    return PALETTE[sum(value.encode()) % len(PALETTE)]


def label(value: str) -> str:
    """`production_operations` → `production operations`."""
    return value.replace("_", " ")


@dataclass(frozen=True)
class Segment:
    series: str
    value: Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]

    @property
    def total(self) -> Decimal:
        return sum((s.value for s in self.segments), Decimal(0))


def bars(items: Sequence[Bar], *, title: str, description: str, unit: str,
         legend: Sequence[str] = ()) -> Markup:
    """Horizontal bars, one per item, stacked by segment (credits to the left of zero)."""
    label_width, value_width, width = 250, 120, WIDTH
    legend_markup, legend_height = _legend(legend, label_width, width) if legend else ("", 0)
    row, top = 30, legend_height + 10
    plot = width - label_width - value_width - 16
    low = min([Decimal(0), *(_stack_low(b) for b in items)])
    high = max([Decimal(0), *(_stack_high(b) for b in items)])
    ticks = _ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    span = (high - low) or Decimal(1)

    def x(v: Decimal) -> float:
        return label_width + float((v - low) / span) * plot

    height = top + row * max(len(items), 1) + 26
    parts = [legend_markup]
    for tick in ticks:
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 4}" '
                     f'y2="{height - 22}" class="grid"/>'
                     f'<text x="{x(tick):.1f}" y="{height - 8}" class="tick" '
                     f'text-anchor="middle">{escape(_compact(tick))}</text>')
    for index, item in enumerate(items):
        y = top + index * row
        parts.append(f'<text x="{label_width - 10}" y="{y + row / 2 + 4:.1f}" class="label" '
                     f'text-anchor="end">{escape(_clip(item.label, 34))}</text>')
        ahead, behind = Decimal(0), Decimal(0)
        for segment in item.segments:
            start = ahead if segment.value >= 0 else behind + segment.value
            if segment.value >= 0:
                ahead += segment.value
            else:
                behind += segment.value
            left, right = x(start), x(start + abs(segment.value))
            parts.append(f'<rect x="{left:.1f}" y="{y + 6}" width="{max(right - left, 0.5):.1f}" '
                         f'height="{row - 12}" rx="2" fill="{colour(segment.series)}">'
                         f'<title>{escape(label(segment.series))}: '
                         f'{escape(_full(segment.value))} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{width - 6}" y="{y + row / 2 + 4:.1f}" class="value" '
                     f'text-anchor="end">{escape(_full(item.total))}</text>')
    parts.append(f'<line x1="{x(Decimal(0)):.1f}" x2="{x(Decimal(0)):.1f}" y1="{top - 4}" '
                 f'y2="{height - 22}" class="zero"/>')
    return _svg(width, height, title, description, parts)


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[Decimal | None, ...]  # one per x label; None: no point there
    dashed: bool = False
    colour: str | None = None


def columns(labels: Sequence[str], stacks: Mapping[str, Sequence[Decimal]], *, title: str,
            description: str, unit: str, lines: Sequence[Series] = ()) -> Markup:
    """Vertical stacked columns per x label (`stacks`: series → one value per label), with
    optional lines drawn over them (a total, scenarios)."""
    width, left, right, bottom = WIDTH, 64, 12, 40
    legend_markup, legend_height = _legend([*stacks, *(s.name for s in lines)], left, width,
                                           {s.name: (s.colour or colour(s.name), s.dashed)
                                            for s in lines})
    top = legend_height + 16
    height = top + 280 + bottom
    plot_w, plot_h = width - left - right, height - top - bottom
    lows = [sum((min(v[i], Decimal(0)) for v in stacks.values()), Decimal(0))
            for i in range(len(labels))]
    highs = [sum((max(v[i], Decimal(0)) for v in stacks.values()), Decimal(0))
             for i in range(len(labels))]
    points = [p for s in lines for p in s.values if p is not None]
    low = min([Decimal(0), *lows, *points])
    high = max([Decimal(0), *highs, *points])
    ticks = _ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    span = (high - low) or Decimal(1)
    slot = plot_w / max(len(labels), 1)

    def y(v: Decimal) -> float:
        return top + plot_h - float((v - low) / span) * plot_h

    parts = [legend_markup]
    for tick in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" class="grid"/><text x="{left - 6}" '
                     f'y="{y(tick) + 4:.1f}" class="tick" text-anchor="end">'
                     f'{escape(_compact(tick))}</text>')
    for i, name in enumerate(labels):
        centre = left + slot * (i + 0.5)
        bar = min(slot * 0.6, 46)
        ahead, behind = Decimal(0), Decimal(0)
        for stacked, values in stacks.items():
            value = values[i]
            if not value:
                continue
            start = ahead if value > 0 else behind + value
            if value > 0:
                ahead += value
            else:
                behind += value
            y1, y2 = y(start + abs(value)), y(start)
            parts.append(f'<rect x="{centre - bar / 2:.1f}" y="{y1:.1f}" width="{bar:.1f}" '
                         f'height="{max(y2 - y1, 0.5):.1f}" fill="{colour(stacked)}">'
                         f'<title>{escape(name)} {escape(label(stacked))}: '
                         f'{escape(_full(value))} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{centre:.1f}" y="{height - bottom + 18}" class="tick" '
                     f'text-anchor="middle">{escape(name)}</text>')
    for series in lines:
        drawn = [(left + slot * (i + 0.5), y(v)) for i, v in enumerate(series.values)
                 if v is not None]
        if not drawn:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in drawn)
        dash = ' stroke-dasharray="6 4"' if series.dashed else ""
        stroke = series.colour or colour(series.name)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{stroke}" '
                     f'stroke-width="2.5"{dash}/>')
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{stroke}"/>'
                  for px, py in drawn]
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(Decimal(0)):.1f}" '
                 f'y2="{y(Decimal(0)):.1f}" class="zero"/>')
    return _svg(width, height, title, description, parts)


@dataclass(frozen=True)
class Gauge:
    """A budget line: actual against budget, with thresholds and the month-end projection."""

    label: str
    actual: Decimal
    budget: Decimal | None
    thresholds: tuple[Decimal, ...]  # percent
    projected: Decimal | None
    alarm: bool


def gauges(items: Sequence[Gauge], *, title: str, description: str) -> Markup:
    """One bar per budget line, in percent of its budget (100 % marked), with a tick at each
    threshold and a diamond at the projection."""
    label_width, width, row, top = 250, WIDTH, 30, 26
    plot = width - label_width - 70
    shares = [float(g.actual / g.budget * 100) if g.budget else 0.0 for g in items]
    projected = [float(g.projected / g.budget * 100) if g.budget and g.projected is not None
                 else 0.0 for g in items]
    high = max([120.0, *shares, *projected,
                *(float(t) for g in items for t in g.thresholds)]) * 1.05

    def x(percent: float) -> float:
        return label_width + max(percent, 0.0) / high * plot

    height = top + row * max(len(items), 1) + 10
    parts = [f'<text x="{x(100):.1f}" y="14" class="tick" text-anchor="middle">100%</text>',
             f'<line x1="{x(100):.1f}" x2="{x(100):.1f}" y1="18" y2="{height - 6}" class="zero"/>']
    for index, (item, share, ahead) in enumerate(zip(items, shares, projected, strict=True)):
        y = top + index * row
        fill = PALETTE[4] if item.alarm else PALETTE[0]
        parts.append(f'<text x="{label_width - 10}" y="{y + row / 2 + 4:.1f}" class="label" '
                     f'text-anchor="end">{escape(_clip(item.label, 34))}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 8}" width="{plot}" height="{row - 16}" '
                     f'class="track"/>')
        parts.append(f'<rect x="{label_width}" y="{y + 8}" width="{x(share) - label_width:.1f}" '
                     f'height="{row - 16}" fill="{fill}"><title>{escape(item.label)}: '
                     f'{share:.1f}% of budget</title></rect>')
        for threshold in item.thresholds:
            tx = x(float(threshold))
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y + 4}" y2="{y + row - 4}" '
                         f'class="threshold"/>')
        if item.budget and item.projected is not None:
            px, py = x(ahead), y + row / 2
            parts.append(f'<path d="M{px:.1f} {py - 6:.1f} L{px + 6:.1f} {py:.1f} L{px:.1f} '
                         f'{py + 6:.1f} L{px - 6:.1f} {py:.1f} Z" class="projection">'
                         f'<title>projected {ahead:.1f}%</title></path>')
        parts.append(f'<text x="{width - 6}" y="{y + row / 2 + 4:.1f}" class="value" '
                     f'text-anchor="end">{share:.0f}%</text>')
    return _svg(width, height, title, description, parts)


def _svg(width: int, height: int, title: str, description: str, parts: Sequence[str]) -> Markup:
    number = next(_ids)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" role="img" '
        f'aria-labelledby="chart-{number}-title chart-{number}-desc" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-{number}-title">{escape(title)}</title>'
        f'<desc id="chart-{number}-desc">{escape(description)}</desc>'
        + "".join(parts) + "</svg>")


def _legend(names: Sequence[str], left: float, width: float,
            styles: Mapping[str, tuple[str, bool]] | None = None) -> tuple[str, int]:
    """A legend from `left`, wrapped to `width`; its markup and height."""
    parts, x, y = [], left, 0
    for name in names:
        text = label(name)
        needed = 34 + 7 * len(text)
        if x + needed > width and x > left:
            x, y = left, y + 20
        fill, dashed = (styles or {}).get(name, (colour(name), False))
        if name in (styles or {}):
            dash = ' stroke-dasharray="5 3"' if dashed else ""
            parts.append(f'<line x1="{x:.1f}" x2="{x + 18:.1f}" y1="{y + 12}" y2="{y + 12}" '
                         f'stroke="{fill}" stroke-width="2.5"{dash}/>')
        else:
            parts.append(f'<rect x="{x:.1f}" y="{y + 6}" width="12" height="12" rx="2" '
                         f'fill="{fill}"/>')
        parts.append(f'<text x="{x + 22:.1f}" y="{y + 16}" class="legend">{escape(text)}</text>')
        x += needed
    return "".join(parts), y + 22


def _stack_low(bar: Bar) -> Decimal:
    return sum((s.value for s in bar.segments if s.value < 0), Decimal(0))


def _stack_high(bar: Bar) -> Decimal:
    return sum((s.value for s in bar.segments if s.value > 0), Decimal(0))


def _ticks(low: Decimal, high: Decimal, count: int = 5) -> list[Decimal]:
    """Round tick values (1, 2, 2.5 or 5 × 10ⁿ apart) covering `low`..`high`, zero included."""
    span = float(high - low) or 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(float(low) / step) * step
    last = math.ceil(float(high) / step) * step
    ticks, value = [], first
    while value <= last + step / 2:
        ticks.append(Decimal(str(round(value, 10))))
        value += step
    return ticks


def _compact(value: Decimal) -> str:
    """Axis labels: `1.2k`, `350k`, `1.5M`, with a real minus sign."""
    magnitude = abs(float(value))
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= size:
            text = f"{magnitude / size:.1f}".removesuffix(".0") + suffix
            break
    else:
        text = f"{magnitude:.2f}".rstrip("0").rstrip(".") if magnitude < 10 else f"{magnitude:.0f}"
    return ("\u2212" + text) if value < 0 else text


def _full(value: Decimal) -> str:
    written = f"{abs(value):,.2f}"
    return ("\u2212" + written) if value < 0 else written


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"
