"""The backtest report (issue 6): trades, per-leg fills, risk actions, queue history, realised
and total equity, exposure and pool usage, fees and the performance metrics.

``equity`` is the run's equity series (``total`` = realised + unrealised at the mark,
``realised`` = starting equity + realised PnL). Every metric is computed on the whole series;
the stored ``equity`` and ``exposure`` rows are thinned to ``max_chart_points`` for the charts
(peaks, troughs and the deepest drawdown of every stretch are kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from engine.domain import ZERO, RiskAction
from reports import metrics
from reports.model import (
    BacktestMetrics,
    BacktestPeriod,
    BacktestReport,
    ExposureRow,
    FeeRow,
    FillRow,
    HeatmapCell,
    LegsPerPyramidRow,
    QueueEventRow,
    RiskActionRow,
    RiskWinnerRow,
)
from reports.numbers import iso_ms, money, opt_money, opt_ratio, ratio
from reports.records import (
    EquityPoint,
    ExposurePoint,
    FillRecord,
    QueueEventRecord,
    ReportInputError,
    TradeRecord,
)
from reports.sections import (
    DEFAULT_MAX_CHART_POINTS,
    equity_rows,
    histogram_rows,
    per_symbol_rows,
    thin_indices,
    trade_row,
    trade_rows,
    trade_stats,
    wall_clock_section,
)

__all__ = ["build_backtest_report"]


def _period_label(period_ms: int) -> str:
    if period_ms % metrics.DAY_MS == 0:
        return f"{period_ms // metrics.DAY_MS}d"
    if period_ms % 3_600_000 == 0:
        return f"{period_ms // 3_600_000}h"
    return f"{period_ms}ms"


def _fill_row(fill: FillRecord) -> FillRow:
    return FillRow(
        at_ms=fill.at_ms,
        time=iso_ms(fill.at_ms),
        group_id=fill.group_id,
        symbol=fill.symbol,
        pyramid_index=fill.pyramid_index,
        leg_index=fill.leg_index,
        purpose=fill.purpose.value,
        side=fill.side.value,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        client_order_id=fill.client_order_id,
    )


def _risk_row(action: RiskAction) -> RiskActionRow:
    return RiskActionRow(
        action_id=action.action_id,
        at_ms=action.at_ms,
        time=iso_ms(action.at_ms),
        user_id=action.user_id,
        loser_group_id=action.loser_group_id,
        loser_loss_percent=action.loser_loss_percent,
        loser_loss_usd=action.loser_loss_usd,
        loser_close_quantity=action.loser_close_quantity,
        covered_usd=action.covered_usd,
        net_usd=action.net_usd,
        winners=[
            RiskWinnerRow(group_id=w.group_id, quantity=w.quantity, realised_usd=w.realised_usd)
            for w in action.winners
        ],
    )


def _queue_row(event: QueueEventRecord) -> QueueEventRow:
    return QueueEventRow(
        at_ms=event.at_ms,
        time=iso_ms(event.at_ms),
        action=event.action,
        signal_id=event.signal_id,
        exchange=event.exchange,
        symbol=event.symbol,
        side=event.side,
        timeframe=event.timeframe,
        reason=event.reason,
        queue_length=event.queue_length,
    )


def _exposure_rows(points: Sequence[ExposurePoint], max_points: int) -> list[ExposureRow]:
    # Thin on exposure; the "peak" series is exposure + open groups, so each stretch's busiest
    # pool moment is kept too. Only the kept rows are built.
    keep = thin_indices(
        [p.exposure_usd for p in points],
        [p.exposure_usd + p.open_groups for p in points],
        max_points,
    )
    rows = []
    for index in keep:
        p = points[index]
        usage = None if p.pool_size is None else ratio(Decimal(p.open_groups) / p.pool_size * 100)
        rows.append(
            ExposureRow(
                at_ms=p.at_ms,
                time=iso_ms(p.at_ms),
                exposure_usd=money(p.exposure_usd),
                open_groups=p.open_groups,
                pool_size=p.pool_size,
                pool_usage_percent=usage,
            )
        )
    return rows


def _fee_rows(trades: Sequence[TradeRecord], fills: Sequence[FillRecord]) -> list[FeeRow]:
    if not fills:
        total = sum((t.fees for t in trades), ZERO)
        return [FeeRow(currency="quote", amount=money(total))] if trades else []
    by_currency: dict[str, Decimal] = {}
    for fill in fills:
        by_currency[fill.fee_currency] = by_currency.get(fill.fee_currency, ZERO) + fill.fee
    return [FeeRow(currency=c, amount=money(a)) for c, a in sorted(by_currency.items())]


def build_backtest_report(
    *,
    trades: Sequence[TradeRecord],
    equity: Sequence[EquityPoint],
    starting_equity: Decimal,
    fills: Sequence[FillRecord] = (),
    risk_actions: Sequence[RiskAction] = (),
    queue_events: Sequence[QueueEventRecord] = (),
    exposure: Sequence[ExposurePoint] = (),
    parameters: Mapping[str, str] | None = None,
    return_period_ms: int = metrics.DAY_MS,
    periods_per_year: int = metrics.DAILY_PERIODS_PER_YEAR,
    started: datetime | None = None,
    completed: datetime | None = None,
    title: str = "Backtest",
    max_chart_points: int = DEFAULT_MAX_CHART_POINTS,
    best_worst_count: int = 10,
    include_fills: bool = True,
) -> BacktestReport:
    """Compute every backtest metric from the run's records (see module docstring).

    ``starting_equity`` must be positive (returns are relative to it). ``parameters`` are the
    run's settings shown in the report (config file, TP mode, ...), as text. With
    ``include_fills=False`` the fills still feed the legs-per-pyramid and fee tables but are
    not listed one by one (``fills_total`` still counts them), which keeps year-long reports
    small.
    """
    if starting_equity <= 0:
        raise ReportInputError("starting_equity", "not_positive", str(starting_equity))
    if periods_per_year < 1:
        raise ReportInputError("periods_per_year", "not_positive", str(periods_per_year))
    parameters = dict(parameters or {})
    for key, value in parameters.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ReportInputError(f"parameters.{key}", "not_text", "keys and values are text")

    rows = equity_rows(equity, max_chart_points)  # validates time order first
    totals = [p.total for p in equity]
    stats = trade_stats(trades)
    ending = totals[-1] if totals else starting_equity + stats.total_realised_pnl
    returns = metrics.period_returns([(p.at_ms, p.total) for p in equity], return_period_ms)
    deepest = metrics.max_drawdown(totals)
    current = metrics.current_drawdown(totals)
    pnl_cells = metrics.pnl_by_pair_timeframe(trades)

    backtest_metrics = BacktestMetrics(
        starting_equity=starting_equity,
        ending_equity=money(ending),
        total_return_percent=opt_ratio(metrics.total_return_percent(starting_equity, ending)),
        total_realised_pnl=stats.total_realised_pnl,
        total_trades=stats.total_trades,
        closed_trades=stats.closed_trades,
        open_trades=stats.open_trades,
        wins=stats.wins,
        losses=stats.losses,
        win_rate=stats.win_rate,
        average_win=stats.average_win,
        average_loss=stats.average_loss,
        profit_factor=stats.profit_factor,
        sharpe=opt_ratio(
            None if returns is None else metrics.sharpe_ratio(returns, periods_per_year)
        ),
        sortino=opt_ratio(
            None if returns is None else metrics.sortino_ratio(returns, periods_per_year)
        ),
        return_period=_period_label(return_period_ms),
        periods_per_year=periods_per_year,
        max_drawdown=money(deepest.absolute),
        max_drawdown_percent=opt_ratio(deepest.percent),
        current_drawdown=money(current.absolute),
        current_drawdown_percent=opt_ratio(current.percent),
        fees_paid=stats.fees_paid,
        max_exposure_usd=opt_money(max((p.exposure_usd for p in exposure), default=None)),
        peak_open_groups=max((p.open_groups for p in exposure), default=None),
        risk_actions=len(risk_actions),
        queue_events=len(queue_events),
    )
    return BacktestReport(
        title=title,
        parameters={k: parameters[k] for k in sorted(parameters)},
        period=BacktestPeriod(
            start_ms=equity[0].at_ms if equity else None,
            end_ms=equity[-1].at_ms if equity else None,
            start=iso_ms(equity[0].at_ms) if equity else None,
            end=iso_ms(equity[-1].at_ms) if equity else None,
        ),
        metrics=backtest_metrics,
        best_trades=[trade_row(t) for t in metrics.best_trades(trades, best_worst_count)],
        worst_trades=[trade_row(t) for t in metrics.worst_trades(trades, best_worst_count)],
        histogram=histogram_rows(trades),
        per_symbol=per_symbol_rows(trades),
        pnl_heatmap=[
            HeatmapCell(
                symbol=c.symbol,
                timeframe=c.timeframe,
                trades=c.trades,
                realised_pnl=money(c.realised_pnl),
            )
            for c in pnl_cells
        ],
        legs_per_pyramid=[
            LegsPerPyramidRow(legs_filled=legs, pyramids=count)
            for legs, count in metrics.legs_filled_per_pyramid(fills)
        ],
        fees=_fee_rows(trades, fills),
        equity_points_total=len(equity),
        equity=rows,
        exposure=_exposure_rows(exposure, max_chart_points),
        trades=trade_rows(trades),
        fills_total=len(fills),
        fills=[_fill_row(f) for f in fills] if include_fills else [],
        risk_actions=[_risk_row(a) for a in risk_actions],
        queue_history=[_queue_row(e) for e in queue_events],
        wall_clock=wall_clock_section(started, completed),
    )
