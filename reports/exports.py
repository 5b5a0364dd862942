"""CSV and PNG exports, and :func:`render_report_files`, which turns one report JSON file into
``report.html``, ``trades.csv``, ``equity.csv``, ``equity.png`` and ``drawdown.png``.

PNGs are drawn with matplotlib's Agg canvas directly (no pyplot, no global backend switch);
values become floats only here, to draw. Everything is read from the JSON, never from the
objects that produced it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from numpy.typing import NDArray

from reports.html import render_html
from reports.model import EquityRow, Report, TradeRow, load_report

__all__ = [
    "TRADE_COLUMNS",
    "EQUITY_COLUMNS",
    "trades_csv",
    "equity_csv",
    "equity_png",
    "drawdown_png",
    "render_report_files",
]

TRADE_COLUMNS = tuple(TradeRow.model_fields)
EQUITY_COLUMNS = tuple(EquityRow.model_fields)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _csv(columns: Sequence[str], rows: Sequence[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return buffer.getvalue()


def trades_csv(rows: Sequence[TradeRow]) -> str:
    """Every trade, one line each, columns in the JSON's key order; empty cell = null."""
    return _csv(TRADE_COLUMNS, [r.model_dump() for r in rows])


def equity_csv(rows: Sequence[EquityRow]) -> str:
    """The report's equity rows (as stored in the JSON) with drawdown."""
    return _csv(EQUITY_COLUMNS, [r.model_dump() for r in rows])


def _times(rows: Sequence[EquityRow]) -> NDArray[np.datetime64]:
    # datetime64 is read as UTC by matplotlib's date converter.
    return np.array([r.at_ms for r in rows], dtype="datetime64[ms]")


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.grid(True, color="#e5e5e5")
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    return figure, axes


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, format="png", metadata={"Software": None})


def equity_png(rows: Sequence[EquityRow], path: Path, title: str = "Equity curve") -> None:
    figure, axes = _figure(title)
    if rows:
        times = _times(rows)
        axes.plot(times, [float(r.total) for r in rows], color="#0969da", label="total equity")
        realised = [r.realised for r in rows]
        if all(v is not None for v in realised) and any(r.realised != r.total for r in rows):
            axes.plot(
                times,
                [float(v) for v in realised if v is not None],
                color="#bc4c00",
                label="realised equity",
            )
        axes.legend(loc="upper left")
    else:
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel("USDT")
    _save(figure, path)


def drawdown_png(rows: Sequence[EquityRow], path: Path, title: str = "Drawdown") -> None:
    figure, axes = _figure(title)
    if rows:
        times = _times(rows)
        values = [-float(r.drawdown) for r in rows]
        axes.fill_between(times, values, 0, color="#cf222e", alpha=0.3, step="post")
        axes.plot(times, values, color="#cf222e", drawstyle="steps-post")
    else:
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel("USDT below peak")
    _save(figure, path)


def render_report_files(
    json_path: str | Path, out_dir: str | Path, *, html_name: str = "report.html"
) -> dict[str, Path]:
    """Read one report JSON and write the HTML page, CSV and PNG exports next to each other.

    Returns the written paths by kind: ``html``, ``trades_csv``, ``equity_csv``,
    ``equity_png``, ``drawdown_png``.
    """
    report: Report = load_report(Path(json_path).read_bytes())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / html_name,
        "trades_csv": out / "trades.csv",
        "equity_csv": out / "equity.csv",
        "equity_png": out / "equity.png",
        "drawdown_png": out / "drawdown.png",
    }
    paths["html"].write_text(render_html(report), encoding="utf-8")
    paths["trades_csv"].write_text(trades_csv(report.trades), encoding="utf-8")
    paths["equity_csv"].write_text(equity_csv(report.equity), encoding="utf-8")
    equity_png(report.equity, paths["equity_png"])
    drawdown_png(report.equity, paths["drawdown_png"])
    return paths
