"""Inline SVG charts for the HTML report, generated as text: no scripts, no external
references, no ``xmlns`` URL (inline SVG in HTML needs none). Coordinates are floats rounded
to one decimal: the charts only draw finished results. Every label is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

__all__ = ["Series", "Bar", "line_chart", "bar_chart", "nice_ticks", "format_tick"]

_WIDTH = 760
_HEIGHT = 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 40, 40


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    color: str
    points: Sequence[tuple[int, Decimal]]  # (epoch ms, value)
    fill: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: Decimal | int
    color: str


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 5 × 10^k steps, at least 1 when ``integer``) covering
    [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high < low:
        low, high = high, low
    if high == low:
        pad = abs(high) * 0.05 or 1.0
        low, high = low - pad, high + pad
    raw_step = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    if integer:
        step = max(step, 1.0)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.5:
        ticks.append(round(value, 12))
        value += step
        if len(ticks) > 50:  # pragma: no cover - guards a float pathology
            break
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def format_tick(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.1f}k"
    if magnitude >= 100 or value == int(value):
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.4g}"


def _time_label(at_ms: int, span_ms: int) -> str:
    moment = datetime.fromtimestamp(at_ms // 1000, tz=UTC)
    if span_ms >= 2 * 86_400_000:
        return moment.strftime("%Y-%m-%d")
    if span_ms >= 3_600_000:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M:%S")


def _frame(chart_id: str, title: str, body: list[str], height: int = _HEIGHT) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {_WIDTH} {height}" '
        f'width="{_WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<text x="{_LEFT}" y="18" class="chart-title">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _empty(chart_id: str, title: str) -> str:
    body = [f'<text x="{_WIDTH / 2:.1f}" y="{_HEIGHT / 2:.1f}" class="no-data">no data</text>']
    return _frame(chart_id, title, body)


def line_chart(chart_id: str, title: str, series: Sequence[Series], y_label: str = "") -> str:
    """Time-series lines (optionally filled to the zero line) with axes, grid and legend."""
    points = [p for s in series for p in s.points]
    if not points:
        return _empty(chart_id, title)
    x_min = min(p[0] for p in points)
    x_max = max(p[0] for p in points)
    values = [float(p[1]) for p in points]
    has_fill = any(s.fill for s in series)
    ticks = nice_ticks(min([*values, 0.0] if has_fill else values), max(values))
    y_min, y_max = ticks[0], ticks[-1]
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    span = max(x_max - x_min, 1)

    def sx(at_ms: int) -> float:
        return _LEFT + (at_ms - x_min) / span * plot_w

    def sy(value: float) -> float:
        return _TOP + (y_max - value) / (y_max - y_min) * plot_h

    body: list[str] = []
    for tick in ticks:
        y = sy(tick)
        body.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(format_tick(tick))}</text>"
        )
    x_ticks = [x_min] if x_max == x_min else [x_min, x_min + (x_max - x_min) // 2, x_max]
    for index, at_ms in enumerate(x_ticks):
        anchor = ("start", "middle", "end")[min(index, 2)] if len(x_ticks) > 1 else "start"
        body.append(
            f'<text x="{sx(at_ms):.1f}" y="{_HEIGHT - _BOTTOM + 18}" class="tick" '
            f'text-anchor="{anchor}">{escape(_time_label(at_ms, x_max - x_min))}</text>'
        )
    body.append(
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_WIDTH - _RIGHT}" '
        f'y2="{_TOP + plot_h}" class="axis"/>'
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" class="axis"/>'
    )
    if y_label:
        body.append(
            f'<text x="14" y="{_TOP + plot_h / 2:.1f}" class="tick" text-anchor="middle" '
            f'transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">{escape(y_label)}</text>'
        )
    for s in series:
        if not s.points:
            continue
        coords = " ".join(f"{sx(t):.1f},{sy(float(v)):.1f}" for t, v in s.points)
        if len(s.points) == 1:
            x, y = sx(s.points[0][0]), sy(float(s.points[0][1]))
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{escape(s.color)}"/>')
        if s.fill:
            base = sy(0.0 if y_min <= 0 <= y_max else y_min)
            first_x, last_x = sx(s.points[0][0]), sx(s.points[-1][0])
            body.append(
                f'<polygon points="{first_x:.1f},{base:.1f} {coords} {last_x:.1f},{base:.1f}" '
                f'fill="{escape(s.color)}" fill-opacity="0.25" stroke="none"/>'
            )
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{escape(s.color)}" '
            f'stroke-width="1.5" class="series" data-series="{escape(s.label)}"/>'
        )
    legend_x = _WIDTH - _RIGHT
    for s in reversed(series):
        label = escape(s.label)
        body.append(
            f'<text x="{legend_x}" y="18" class="legend" text-anchor="end" '
            f'fill="{escape(s.color)}">■ {label}</text>'
        )
        legend_x -= 14 + 7 * len(s.label)
    return _frame(chart_id, title, body)


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], x_label: str = "") -> str:
    """Vertical bars with their labels under them and values on top."""
    if not bars:
        return _empty(chart_id, title)
    values = [float(b.value) for b in bars]
    integer = all(isinstance(b.value, int) for b in bars)
    ticks = nice_ticks(min(0.0, *values), max(0.0, *values), integer=integer)
    y_min, y_max = ticks[0], ticks[-1]
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM

    def sy(value: float) -> float:
        return _TOP + (y_max - value) / (y_max - y_min) * plot_h

    body: list[str] = []
    for tick in ticks:
        y = sy(tick)
        body.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(format_tick(tick))}</text>"
        )
    slot = plot_w / len(bars)
    width = max(slot * 0.8, 1.0)
    zero = sy(0.0)
    label_every = max(1, math.ceil(len(bars) * 70 / plot_w))
    for index, bar in enumerate(bars):
        x = _LEFT + slot * index + (slot - width) / 2
        top = sy(max(float(bar.value), 0.0))
        bottom = sy(min(float(bar.value), 0.0))
        body.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{max(bottom - top, 0.5):.1f}" fill="{escape(bar.color)}" class="bar">'
            f"<title>{escape(bar.label)}: {escape(str(bar.value))}</title></rect>"
        )
        if index % label_every == 0:
            body.append(
                f'<text x="{x + width / 2:.1f}" y="{_HEIGHT - _BOTTOM + 16}" class="tick" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
        if len(bars) <= 20:
            body.append(
                f'<text x="{x + width / 2:.1f}" y="{top - 3:.1f}" class="tick" '
                f'text-anchor="middle">{escape(str(bar.value))}</text>'
            )
    body.append(
        f'<line x1="{_LEFT}" y1="{zero:.1f}" x2="{_WIDTH - _RIGHT}" y2="{zero:.1f}" class="axis"/>'
    )
    if x_label:
        body.append(
            f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_HEIGHT - 6}" class="tick" '
            f'text-anchor="middle">{escape(x_label)}</text>'
        )
    return _frame(chart_id, title, body)
