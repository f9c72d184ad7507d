"""A small line chart as inline SVG, drawn on the server: a patient's result or pain score over
time, with the usual range as a band.

No script and no chart library: it shows on any phone, prints, and the page's table beside it
carries the same numbers for screen readers (the SVG is one labelled image).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 12, 30  # room for the axis labels


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float
    hollow: bool = False  # a value the patient typed in


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:g}"


def line_chart(
    points: Sequence[Point],
    *,
    label: str,
    band: tuple[float, float] | None = None,
    fixed: tuple[float, float] | None = None,
    day_words: dict[dt.date, str] | None = None,
) -> str:
    """The chart's SVG. `label` names it for assistive technology; `fixed` pins the value axis
    (a 0-10 score); `day_words` gives the words for the first and last day on the time axis."""
    if not points:
        return ""
    values = [p.value for p in points]
    if fixed is not None:
        low, high = fixed
        ticks = nice_ticks(low, high, 3)
    else:
        span = values + (list(band) if band else [])
        ticks = nice_ticks(min(span), max(span))
        low, high = ticks[0], ticks[-1]
    first, last = points[0].day, points[-1].day
    days = max(1, (last - first).days)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        if first == last:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (day - first).days / days

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low or 1.0))

    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    if band is not None:
        top, bottom = y(min(band[1], high)), y(max(band[0], low))
        parts.append(
            f'<rect class="usual" x="{LEFT}" y="{top:.1f}" width="{plot_w}" '
            f'height="{max(0.0, bottom - top):.1f}"/>'
        )
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{_label(tick)}</text>"
        )
    if len(points) > 1:
        line = " ".join(f"{x(p.day):.1f},{y(p.value):.1f}" for p in points)
        parts.append(f'<polyline class="line" points="{line}"/>')
    for p in points:
        kind = "dot hollow" if p.hollow else "dot"
        parts.append(f'<circle class="{kind}" cx="{x(p.day):.1f}" cy="{y(p.value):.1f}" r="5"/>')
    words = day_words or {}
    bottom_y = HEIGHT - 8
    parts.append(
        f'<text class="tick" x="{LEFT}" y="{bottom_y}" text-anchor="start">'
        f"{escape(words.get(first, first.isoformat()))}</text>"
    )
    if last != first:
        parts.append(
            f'<text class="tick" x="{WIDTH - RIGHT}" y="{bottom_y}" text-anchor="end">'
            f"{escape(words.get(last, last.isoformat()))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
