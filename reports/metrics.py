"""Performance metrics: small pure functions over plain values, exact ``Decimal`` results.

Definitions (also in docs/reports.md):
- a *win* is a closed trade with PnL > 0, a *loss* one with PnL < 0; a break-even trade counts
  in the win-rate denominator only;
- profit factor = gross profit / |gross loss|, ``None`` when there is no loss;
- drawdown at a point = running peak − value; percent = that / running peak × 100 (only where
  the peak is positive);
- Sharpe and Sortino use period returns (default period: one UTC day), risk-free rate 0,
  annualised by √(periods per year) (365 for daily: crypto trades every day); Sharpe divides
  by the sample standard deviation (n − 1), Sortino by the downside deviation
  √(Σ min(r, 0)² / n); fewer than two returns or a zero denominator gives ``None``;
- latency percentiles use the nearest-rank method: the p-th percentile of n sorted samples is
  the sample at rank ⌈p/100 × n⌉ (1-based), always an observed value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from engine.domain import ZERO, OrderPurpose
from reports.records import FillRecord, ReportInputError, TradeRecord

__all__ = [
    "DAY_MS",
    "DAILY_PERIODS_PER_YEAR",
    "Drawdown",
    "HistogramBin",
    "SymbolRow",
    "PairTimeframeCell",
    "LatencySummary",
    "win_rate",
    "average_win",
    "average_loss",
    "profit_factor",
    "total_return_percent",
    "drawdown_series",
    "max_drawdown",
    "current_drawdown",
    "period_returns",
    "sharpe_ratio",
    "sortino_ratio",
    "best_trades",
    "worst_trades",
    "histogram",
    "per_symbol_table",
    "pnl_by_pair_timeframe",
    "fill_rate",
    "percentile_nearest_rank",
    "latency_summary",
    "legs_filled_per_pyramid",
]

DAY_MS = 86_400_000
DAILY_PERIODS_PER_YEAR = 365


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values)


def win_rate(pnls: Sequence[Decimal]) -> Decimal | None:
    """Share of closed trades with PnL > 0 (0..1); ``None`` without closed trades."""
    if not pnls:
        return None
    return Decimal(sum(1 for pnl in pnls if pnl > 0)) / len(pnls)


def average_win(pnls: Sequence[Decimal]) -> Decimal | None:
    wins = [pnl for pnl in pnls if pnl > 0]
    return _mean(wins) if wins else None


def average_loss(pnls: Sequence[Decimal]) -> Decimal | None:
    """Mean of the losing trades' PnL (a negative number); ``None`` without losses."""
    losses = [pnl for pnl in pnls if pnl < 0]
    return _mean(losses) if losses else None


def profit_factor(pnls: Sequence[Decimal]) -> Decimal | None:
    """Gross profit / gross loss; ``None`` when nothing lost (the ratio is undefined)."""
    gross_profit = sum((pnl for pnl in pnls if pnl > 0), ZERO)
    gross_loss = -sum((pnl for pnl in pnls if pnl < 0), ZERO)
    if gross_loss == 0:
        return None
    return gross_profit / gross_loss


def total_return_percent(start_equity: Decimal, end_equity: Decimal) -> Decimal | None:
    """(end − start) / start × 100; ``None`` when the start is not positive."""
    if start_equity <= 0:
        return None
    return (end_equity - start_equity) / start_equity * 100


@dataclass(frozen=True, slots=True)
class Drawdown:
    absolute: Decimal
    percent: Decimal | None


def drawdown_series(values: Sequence[Decimal]) -> list[Decimal]:
    """Running peak − value at every point (0 at each new high)."""
    result: list[Decimal] = []
    peak: Decimal | None = None
    for value in values:
        peak = value if peak is None or value > peak else peak
        result.append(peak - value)
    return result


def max_drawdown(values: Sequence[Decimal]) -> Drawdown:
    """Largest peak-to-trough fall, in money and in percent of its peak.

    The two maxima are taken separately (the deepest % fall may come from a lower peak).
    ``percent`` is ``None`` when no point has a positive peak (e.g. a PnL-only curve at 0).
    """
    worst_abs = ZERO
    worst_pct: Decimal | None = None
    peak: Decimal | None = None
    trough = ZERO
    # One pass; the % of a peak is largest at its lowest trough, so divide once per peak.
    for value in values:
        if peak is None or value > peak:
            worst_pct = _deeper_percent(peak, trough, worst_pct)
            peak = trough = value
        elif value < trough:
            trough = value
            if peak - value > worst_abs:
                worst_abs = peak - value
    return Drawdown(worst_abs, _deeper_percent(peak, trough, worst_pct))


def _deeper_percent(peak: Decimal | None, trough: Decimal, worst: Decimal | None) -> Decimal | None:
    if peak is None or peak <= 0:
        return worst
    pct = (peak - trough) / peak * 100
    return pct if worst is None or pct > worst else worst


def current_drawdown(values: Sequence[Decimal]) -> Drawdown:
    """Distance of the last value below the highest value so far."""
    if not values:
        return Drawdown(ZERO, None)
    peak = max(values)
    fall = peak - values[-1]
    return Drawdown(fall, fall / peak * 100 if peak > 0 else None)


def period_returns(
    points: Sequence[tuple[int, Decimal]], period_ms: int = DAY_MS
) -> list[Decimal] | None:
    """Simple returns between consecutive period closes of an equity series.

    A period's close is the last value at or before its end; periods with no point repeat
    the previous close (a 0 return). The first point's value opens the first period, so the
    first return is that period's close / first value − 1. ``None`` when a base is not
    positive (returns are undefined). Points must be in time order.
    """
    if period_ms <= 0:
        raise ReportInputError("period_ms", "not_positive", str(period_ms))
    if not points:
        return []
    closes: dict[int, Decimal] = {}
    previous_ms = points[0][0]
    for at_ms, value in points:
        if at_ms < previous_ms:
            raise ReportInputError("equity.at_ms", "not_sorted", f"{at_ms} after {previous_ms}")
        previous_ms = at_ms
        closes[at_ms // period_ms] = value
    first_period, last_period = min(closes), max(closes)
    series = [points[0][1]]
    for period in range(first_period, last_period + 1):
        series.append(closes.get(period, series[-1]))
    returns: list[Decimal] = []
    for base, value in itertools.pairwise(series):
        if base <= 0:
            return None
        returns.append(value / base - 1)
    return returns


def sharpe_ratio(returns: Sequence[Decimal], periods_per_year: int) -> Decimal | None:
    """mean / sample stdev × √periods_per_year; ``None`` for < 2 returns or zero variance."""
    if len(returns) < 2:
        return None
    mean = _mean(returns)
    variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
    if variance == 0:
        return None
    return mean / variance.sqrt() * Decimal(periods_per_year).sqrt()


def sortino_ratio(returns: Sequence[Decimal], periods_per_year: int) -> Decimal | None:
    """mean / downside deviation × √periods_per_year; ``None`` for < 2 returns or no downside."""
    if len(returns) < 2:
        return None
    downside_sq = sum((min(r, ZERO) ** 2 for r in returns), ZERO) / len(returns)
    if downside_sq == 0:
        return None
    return _mean(returns) / downside_sq.sqrt() * Decimal(periods_per_year).sqrt()


def best_trades(trades: Iterable[TradeRecord], n: int = 10) -> list[TradeRecord]:
    """The ``n`` closed trades with the highest PnL (ties: trade id)."""
    closed = [t for t in trades if t.is_closed]
    return sorted(closed, key=lambda t: (-t.realised_pnl, t.trade_id))[:n]


def worst_trades(trades: Iterable[TradeRecord], n: int = 10) -> list[TradeRecord]:
    """The ``n`` closed trades with the lowest PnL (ties: trade id)."""
    closed = [t for t in trades if t.is_closed]
    return sorted(closed, key=lambda t: (t.realised_pnl, t.trade_id))[:n]


@dataclass(frozen=True, slots=True)
class HistogramBin:
    lower: Decimal
    upper: Decimal
    count: int


_NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))


def _bin_count(low: Decimal, high: Decimal, width: Decimal) -> tuple[Decimal, int]:
    start = (low / width).to_integral_value(rounding=ROUND_FLOOR) * width
    return start, int(((high - start) / width).to_integral_value(rounding=ROUND_FLOOR)) + 1


def histogram(values: Sequence[Decimal], max_bins: int = 10) -> list[HistogramBin]:
    """Bins ``[lower, upper)`` of one "nice" width, edges on multiples of it (so 0 is always
    an edge: wins and losses never share a bin). The width is the first of 1, 2, 2.5, 5 × 10^k,
    k rising from the power of ten of span / ``max_bins``, that covers the values in at most
    ``max_bins`` bins (a zero span counts as |value|, or 1 for 0). Empty bins between the
    first and the last are kept. No values → no bins."""
    if max_bins < 1:
        raise ReportInputError("max_bins", "not_positive", str(max_bins))
    if not values:
        return []
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        span = abs(high) if high != 0 else Decimal(1)
    exponent = (span / max_bins).adjusted()
    width = start = ZERO
    count = 0
    for power in range(exponent, exponent + 3):
        for step in _NICE_STEPS:
            width = step.scaleb(power)
            start, count = _bin_count(low, high, width)
            if count <= max_bins:
                break
        if count <= max_bins:
            break
    counts = [0] * count
    for value in values:
        counts[int(((value - start) / width).to_integral_value(rounding=ROUND_FLOOR))] += 1
    return [
        HistogramBin(start + width * i, start + width * (i + 1), counts[i]) for i in range(count)
    ]


@dataclass(frozen=True, slots=True)
class SymbolRow:
    exchange: str
    symbol: str
    trades: int
    closed: int
    wins: int
    losses: int
    win_rate: Decimal | None
    realised_pnl: Decimal
    fees: Decimal


def per_symbol_table(trades: Iterable[TradeRecord]) -> list[SymbolRow]:
    """One row per (exchange, symbol), sorted; PnL includes open trades' realised part."""
    groups: dict[tuple[str, str], list[TradeRecord]] = {}
    for trade in trades:
        groups.setdefault((trade.exchange, trade.symbol), []).append(trade)
    rows = []
    for (exchange, symbol), items in sorted(groups.items()):
        closed_pnls = [t.realised_pnl for t in items if t.is_closed]
        rows.append(
            SymbolRow(
                exchange=exchange,
                symbol=symbol,
                trades=len(items),
                closed=len(closed_pnls),
                wins=sum(1 for p in closed_pnls if p > 0),
                losses=sum(1 for p in closed_pnls if p < 0),
                win_rate=win_rate(closed_pnls),
                realised_pnl=sum((t.realised_pnl for t in items), ZERO),
                fees=sum((t.fees for t in items), ZERO),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class PairTimeframeCell:
    symbol: str
    timeframe: int | None
    trades: int
    realised_pnl: Decimal


def pnl_by_pair_timeframe(trades: Iterable[TradeRecord]) -> list[PairTimeframeCell]:
    """Realised PnL per (symbol, timeframe), sorted by symbol then timeframe (None last)."""
    cells: dict[tuple[str, int | None], list[TradeRecord]] = {}
    for trade in trades:
        cells.setdefault((trade.symbol, trade.timeframe), []).append(trade)
    ordered = sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1] is None, kv[0][1] or 0))
    return [
        PairTimeframeCell(symbol, timeframe, len(items), sum((t.realised_pnl for t in items), ZERO))
        for (symbol, timeframe), items in ordered
    ]


def fill_rate(orders_placed: int, orders_filled: int) -> Decimal | None:
    """Filled / placed (0..1); ``None`` when nothing was placed."""
    if orders_placed < 0 or orders_filled < 0:
        raise ReportInputError("orders", "negative", f"{orders_placed=} {orders_filled=}")
    if orders_filled > orders_placed:
        raise ReportInputError("orders_filled", "out_of_range", "more fills than orders placed")
    if orders_placed == 0:
        return None
    return Decimal(orders_filled) / orders_placed


def percentile_nearest_rank(samples: Sequence[int], percent: int) -> int | None:
    """Nearest-rank percentile: the sample at 1-based rank ⌈percent/100 × n⌉ of the sorted data."""
    if not 0 < percent <= 100:
        raise ReportInputError("percent", "out_of_range", f"must be in (0, 100], got {percent}")
    if not samples:
        return None
    ordered = sorted(samples)
    rank = -(-percent * len(ordered) // 100)  # ceiling division in integers
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    count: int
    p50: int | None
    p95: int | None
    p99: int | None
    max: int | None


def latency_summary(samples_ms: Sequence[int]) -> LatencySummary:
    for sample in samples_ms:
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
            raise ReportInputError("latency_ms", "bad_sample", f"expected int >= 0, got {sample!r}")
    return LatencySummary(
        count=len(samples_ms),
        p50=percentile_nearest_rank(samples_ms, 50),
        p95=percentile_nearest_rank(samples_ms, 95),
        p99=percentile_nearest_rank(samples_ms, 99),
        max=max(samples_ms) if samples_ms else None,
    )


def legs_filled_per_pyramid(fills: Iterable[FillRecord]) -> list[tuple[int, int]]:
    """Distribution ``[(legs filled, number of pyramids), ...]`` from entry and DCA fills.

    A leg counts once however many partial fills it had.
    """
    legs: dict[tuple[str, int], set[int]] = {}
    for fill in fills:
        if fill.purpose in (OrderPurpose.ENTRY, OrderPurpose.DCA):
            legs.setdefault((fill.group_id, fill.pyramid_index), set()).add(fill.leg_index)
    counts: dict[int, int] = {}
    for filled in legs.values():
        counts[len(filled)] = counts.get(len(filled), 0) + 1
    return sorted(counts.items())
