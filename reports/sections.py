"""Building blocks shared by the three report builders: trade rows, equity and drawdown rows,
trade statistics, histogram, per-symbol table, latency rows and the wall-clock section."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np

from engine.domain import ZERO, PositionSide
from reports import metrics
from reports.model import (
    EquityRow,
    HistogramRow,
    LatencyRow,
    SymbolTableRow,
    TradeRow,
    TradeStats,
    WallClock,
)
from reports.numbers import iso_ms, iso_wall, money, opt_money, opt_ratio, ratio, seconds
from reports.records import EquityPoint, ReportInputError, TradeRecord

__all__ = [
    "DEFAULT_MAX_CHART_POINTS",
    "trade_row",
    "trade_rows",
    "check_unique_trade_ids",
    "closed_pnls",
    "trade_stats",
    "realised_equity_curve",
    "equity_rows",
    "thin_indices",
    "histogram_rows",
    "per_symbol_rows",
    "latency_rows",
    "wall_clock_section",
]

DEFAULT_MAX_CHART_POINTS = 2000


def trade_row(trade: TradeRecord) -> TradeRow:
    closed = trade.is_closed
    return_percent = trade.return_percent
    return TradeRow(
        trade_id=trade.trade_id,
        symbol=trade.symbol,
        side="BUY" if trade.side is PositionSide.LONG else "SELL",
        status="CLOSED" if closed else "OPEN",
        entry_price=trade.entry_price,
        entry_fill_time=iso_ms(trade.entry_time_ms),
        exit_price=trade.exit_price,
        exit_time=None if trade.exit_time_ms is None else iso_ms(trade.exit_time_ms),
        quantity=trade.quantity,
        profit_pnl=money(trade.realised_pnl) if closed else None,
        profit_percent=None if return_percent is None else ratio(return_percent),
        exchange=trade.exchange,
        timeframe=trade.timeframe,
        position_side="long" if trade.side is PositionSide.LONG else "short",
        fees=trade.fees,
        realised_pnl=money(trade.realised_pnl),
        exit_reason=trade.exit_reason,
        pyramids=trade.pyramids,
        entry_time_ms=trade.entry_time_ms,
        exit_time_ms=trade.exit_time_ms,
    )


def check_unique_trade_ids(trades: Sequence[TradeRecord]) -> None:
    seen: set[str] = set()
    for trade in trades:
        if trade.trade_id in seen:
            raise ReportInputError("trades", "duplicate_trade_id", trade.trade_id)
        seen.add(trade.trade_id)


def trade_rows(trades: Sequence[TradeRecord]) -> list[TradeRow]:
    """Rows in entry-time order (ties: trade id), so the listing does not depend on the
    order the caller collected the trades in."""
    check_unique_trade_ids(trades)
    ordered = sorted(trades, key=lambda t: (t.entry_time_ms, t.trade_id))
    return [trade_row(trade) for trade in ordered]


def closed_pnls(trades: Sequence[TradeRecord]) -> list[Decimal]:
    return [t.realised_pnl for t in trades if t.is_closed]


def trade_stats(trades: Sequence[TradeRecord]) -> TradeStats:
    pnls = closed_pnls(trades)
    returns = [r for r in (t.return_percent for t in trades) if r is not None]
    return TradeStats(
        total_trades=len(trades),
        closed_trades=len(pnls),
        open_trades=len(trades) - len(pnls),
        wins=sum(1 for p in pnls if p > 0),
        losses=sum(1 for p in pnls if p < 0),
        win_rate=opt_ratio(metrics.win_rate(pnls)),
        average_win=opt_money(metrics.average_win(pnls)),
        average_loss=opt_money(metrics.average_loss(pnls)),
        profit_factor=opt_ratio(metrics.profit_factor(pnls)),
        total_realised_pnl=money(sum((t.realised_pnl for t in trades), ZERO)),
        average_return_percent=ratio(sum(returns, ZERO) / len(returns)) if returns else None,
        fees_paid=money(sum((t.fees for t in trades), ZERO)),
    )


def realised_equity_curve(
    trades: Sequence[TradeRecord], starting_equity: Decimal = ZERO
) -> list[EquityPoint]:
    """Equity from closed trades alone: the start at the first entry, then one point per
    close (in exit-time order) adding that trade's PnL. ``total`` equals ``realised``."""
    if not trades:
        return []
    start_ms = min(t.entry_time_ms for t in trades)
    points = [EquityPoint(start_ms, starting_equity, starting_equity)]
    equity = starting_equity
    closed = sorted((t for t in trades if t.exit_time_ms is not None), key=_exit_key)
    for trade in closed:
        equity += trade.realised_pnl
        assert trade.exit_time_ms is not None
        points.append(EquityPoint(trade.exit_time_ms, equity, equity))
    return points


def _exit_key(trade: TradeRecord) -> tuple[int, str]:
    return (trade.exit_time_ms or 0, trade.trade_id)


def _check_sorted(points: Sequence[EquityPoint]) -> None:
    for before, after in itertools.pairwise(points):
        if after.at_ms < before.at_ms:
            raise ReportInputError("equity.at_ms", "not_sorted", f"{after.at_ms} < {before.at_ms}")


def equity_rows(
    points: Sequence[EquityPoint], max_points: int = DEFAULT_MAX_CHART_POINTS
) -> list[EquityRow]:
    """Equity rows with drawdown against the whole series' running peak, thinned to
    ``max_points`` for the charts (see :func:`thin_indices`); only the kept rows are built."""
    _check_sorted(points)
    totals = [p.total for p in points]
    peaks = list(itertools.accumulate(totals, max))  # exact running peak, in C
    rows: list[EquityRow] = []
    for index in thin_indices(totals, peaks, max_points):
        point, peak = points[index], peaks[index]
        fall = peak - point.total
        rows.append(
            EquityRow(
                at_ms=point.at_ms,
                time=iso_ms(point.at_ms),
                total=money(point.total),
                realised=opt_money(point.realised),
                drawdown=money(fall),
                drawdown_percent=ratio(fall / peak * 100) if peak > 0 else None,
            )
        )
    return rows


def thin_indices(values: Sequence[Decimal], peaks: Sequence[Decimal], max_points: int) -> list[int]:
    """Indices to keep so a chart of ``values`` keeps its shape with at most ``max_points``
    points: the first and the last point, and in each of equal-count buckets the lowest value,
    the highest value and the deepest fall below ``peaks`` (the running peak, or any series
    whose excess over ``values`` should stay visible). Floats are used only to choose points."""
    count = len(values)
    if max_points < 5:
        raise ReportInputError("max_points", "too_small", f"must be >= 5, got {max_points}")
    if count <= max_points:
        return list(range(count))
    value_array = np.fromiter((float(v) for v in values), dtype=np.float64, count=count)
    fall_array = np.fromiter((float(p) for p in peaks), dtype=np.float64, count=count)
    fall_array -= value_array
    buckets = (max_points - 2) // 3
    keep = {0, count - 1}
    edges = [1 + bucket * (count - 2) // buckets for bucket in range(buckets + 1)]
    for start, stop in itertools.pairwise(edges):
        if stop <= start:
            continue
        keep.add(start + int(np.argmin(value_array[start:stop])))
        keep.add(start + int(np.argmax(value_array[start:stop])))
        keep.add(start + int(np.argmax(fall_array[start:stop])))
    return sorted(keep)


def histogram_rows(trades: Sequence[TradeRecord], max_bins: int = 12) -> list[HistogramRow]:
    """Histogram of closed trades' return % (net of fees)."""
    returns = [r for r in (t.return_percent for t in trades) if r is not None]
    return [
        HistogramRow(lower=ratio(b.lower), upper=ratio(b.upper), count=b.count)
        for b in metrics.histogram(returns, max_bins)
    ]


def per_symbol_rows(trades: Sequence[TradeRecord]) -> list[SymbolTableRow]:
    return [
        SymbolTableRow(
            exchange=row.exchange,
            symbol=row.symbol,
            trades=row.trades,
            closed=row.closed,
            wins=row.wins,
            losses=row.losses,
            win_rate=opt_ratio(row.win_rate),
            realised_pnl=money(row.realised_pnl),
            fees=money(row.fees),
        )
        for row in metrics.per_symbol_table(trades)
    ]


def latency_rows(latencies_ms: Mapping[str, Sequence[int]]) -> list[LatencyRow]:
    """One row per named latency series, sorted by name."""
    rows = []
    for name in sorted(latencies_ms):
        summary = metrics.latency_summary(latencies_ms[name])
        rows.append(
            LatencyRow(
                name=name,
                count=summary.count,
                p50_ms=summary.p50,
                p95_ms=summary.p95,
                p99_ms=summary.p99,
                max_ms=summary.max,
            )
        )
    return rows


def wall_clock_section(
    started: datetime | None = None,
    completed: datetime | None = None,
    *,
    phase_seconds: Mapping[str, Decimal] | None = None,
    scenario_seconds: Mapping[str, Decimal] | None = None,
    latencies_ms: Mapping[str, Sequence[int]] | None = None,
) -> WallClock:
    duration = None
    if started is not None and completed is not None:
        if completed < started:
            raise ReportInputError("completed", "before_start", f"{completed} < {started}")
        delta = completed - started
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        duration = seconds(Decimal(micros) / 1_000_000)
    return WallClock(
        started=None if started is None else iso_wall(started),
        completed=None if completed is None else iso_wall(completed),
        duration_seconds=duration,
        phase_seconds={k: seconds(v) for k, v in sorted((phase_seconds or {}).items())},
        scenario_seconds={k: seconds(v) for k, v in sorted((scenario_seconds or {}).items())},
        latencies=latency_rows(latencies_ms or {}),
    )
