"""HTML sections every report type shares: equity and drawdown charts, trade-return
histogram, per-symbol table, trade tables, latency table, wall-clock footer."""

from __future__ import annotations

from collections.abc import Sequence

from reports.htmlkit import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    Cell,
    esc,
    fmt_int,
    fmt_money,
    fmt_ms,
    fmt_percent,
    fmt_plain,
    fmt_rate,
    signed_css,
    table,
)
from reports.model import EquityRow, HistogramRow, LatencyRow, SymbolTableRow, TradeRow, WallClock
from reports.svg import Bar, Series, bar_chart, line_chart

__all__ = [
    "TRADE_ROW_LIMIT",
    "equity_chart",
    "drawdown_chart",
    "histogram_chart",
    "per_symbol_table",
    "trades_table",
    "latency_table",
    "wall_clock_footer",
    "limited_note",
]

TRADE_ROW_LIMIT = 500


def equity_chart(rows: Sequence[EquityRow]) -> str:
    """Total equity, plus realised equity when the report has a distinct realised series."""
    series = [Series("total equity", BLUE, [(r.at_ms, r.total) for r in rows])]
    realised = [(r.at_ms, r.realised) for r in rows if r.realised is not None]
    if realised and any(r.realised is not None and r.realised != r.total for r in rows):
        series.append(Series("realised equity", ORANGE, realised))
    return line_chart("equity", "Equity curve", series, "USDT")


def drawdown_chart(rows: Sequence[EquityRow]) -> str:
    points = [(r.at_ms, -r.drawdown) for r in rows]
    return line_chart("drawdown", "Drawdown", [Series("drawdown", RED, points, fill=True)], "USDT")


def histogram_chart(rows: Sequence[HistogramRow]) -> str:
    bars = []
    for row in rows:
        color = GREEN if row.lower >= 0 else (RED if row.upper <= 0 else GREY)
        label = f"{fmt_plain(row.lower)}..{fmt_plain(row.upper)}"
        bars.append(Bar(label=label, value=row.count, color=color))
    return bar_chart("histogram", "Trade return histogram (% per trade)", bars, "return %")


def per_symbol_table(rows: Sequence[SymbolTableRow]) -> str:
    if not rows:
        return '<p class="note">No trades.</p>'
    return table(
        ["Exchange", "Symbol", "Trades", "Closed", "Wins", "Losses", "Win rate", "PnL", "Fees"],
        [
            [
                r.exchange or "—",
                r.symbol,
                Cell(fmt_int(r.trades), numeric=True),
                Cell(fmt_int(r.closed), numeric=True),
                Cell(fmt_int(r.wins), numeric=True),
                Cell(fmt_int(r.losses), numeric=True),
                Cell(fmt_rate(r.win_rate), numeric=True),
                Cell(fmt_money(r.realised_pnl), numeric=True, css=signed_css(r.realised_pnl)),
                Cell(fmt_money(r.fees), numeric=True),
            ]
            for r in rows
        ],
        table_id="per-symbol",
    )


def limited_note(shown: int, total: int, what: str) -> str:
    if shown >= total:
        return ""
    return (
        f'<p class="note">Showing {esc(fmt_int(shown))} of {esc(fmt_int(total))} {esc(what)}; '
        "all of them are in the JSON and CSV exports.</p>"
    )


def trades_table(rows: Sequence[TradeRow], table_id: str, limit: int = TRADE_ROW_LIMIT) -> str:
    if not rows:
        return '<p class="note">No trades.</p>'
    shown = rows[:limit]
    body = table(
        [
            "Trade",
            "Exchange",
            "Symbol",
            "TF",
            "Side",
            "Status",
            "Entry",
            "Entry time",
            "Exit",
            "Exit time",
            "Qty",
            "PnL",
            "Return",
            "Fees",
            "Exit reason",
        ],
        [
            [
                r.trade_id,
                r.exchange or "—",
                r.symbol,
                fmt_plain(r.timeframe),
                r.side,
                r.status,
                Cell(fmt_plain(r.entry_price), numeric=True),
                Cell(r.entry_fill_time, css="time"),
                Cell(fmt_plain(r.exit_price), numeric=True),
                Cell(fmt_plain(r.exit_time), css="time"),
                Cell(fmt_plain(r.quantity), numeric=True),
                Cell(fmt_money(r.realised_pnl), numeric=True, css=signed_css(r.realised_pnl)),
                Cell(fmt_percent(r.profit_percent), numeric=True, css=signed_css(r.profit_percent)),
                Cell(fmt_money(r.fees), numeric=True),
                fmt_plain(r.exit_reason),
            ]
            for r in shown
        ],
        table_id=table_id,
    )
    return f'<div class="scroll">{body}</div>' + limited_note(len(shown), len(rows), "trades")


def latency_table(rows: Sequence[LatencyRow], table_id: str) -> str:
    if not rows:
        return '<p class="note">No latency samples.</p>'
    return table(
        ["Latency", "Samples", "p50", "p95", "p99", "max"],
        [
            [
                r.name,
                Cell(fmt_int(r.count), numeric=True),
                Cell(fmt_ms(r.p50_ms), numeric=True),
                Cell(fmt_ms(r.p95_ms), numeric=True),
                Cell(fmt_ms(r.p99_ms), numeric=True),
                Cell(fmt_ms(r.max_ms), numeric=True),
            ]
            for r in rows
        ],
        table_id=table_id,
    )


def wall_clock_footer(wall: WallClock) -> str:
    parts = []
    if wall.started:
        parts.append(f"started {esc(wall.started)}")
    if wall.completed:
        parts.append(f"completed {esc(wall.completed)}")
    if wall.duration_seconds is not None:
        parts.append(f"wall-clock duration {esc(fmt_plain(wall.duration_seconds))} s")
    text = " · ".join(parts) if parts else "no wall-clock data"
    return f"<footer>Wall clock: {text}. Everything else is computed from the run's data.</footer>"
