"""HTML body of the backtest report: metrics, realised and total equity, drawdown, returns,
PnL heatmap per pair × timeframe, best and worst trades, exposure and pool usage, DCA legs
filled per pyramid, fees, risk actions and queue history."""

from __future__ import annotations

from decimal import Decimal

from reports.html_common import (
    drawdown_chart,
    equity_chart,
    histogram_chart,
    limited_note,
    per_symbol_table,
    trades_table,
    wall_clock_footer,
)
from reports.htmlkit import (
    BLUE,
    GREEN,
    ORANGE,
    Cell,
    esc,
    fmt_int,
    fmt_money,
    fmt_percent,
    fmt_plain,
    fmt_profit_factor,
    fmt_rate,
    fmt_ratio,
    kpi_grid,
    section,
    signed_css,
    table,
)
from reports.model import BacktestReport, HeatmapCell
from reports.svg import Bar, Series, bar_chart, line_chart

__all__ = ["backtest_body", "ROW_LIMIT"]

ROW_LIMIT = 200


def backtest_body(report: BacktestReport) -> str:
    m = report.metrics
    period = report.period
    parts = [
        f'<h1 id="backtest-title">{esc(report.title)}</h1>',
        f'<p class="sub">{esc(period.start or "—")} → {esc(period.end or "—")} · '
        f"{esc(fmt_int(report.equity_points_total))} equity points</p>",
        kpi_grid(
            [
                ("total_return_percent", "Total return", fmt_percent(m.total_return_percent)),
                ("ending_equity", "Ending equity", fmt_money(m.ending_equity)),
                ("total_realised_pnl", "Realised PnL", fmt_money(m.total_realised_pnl)),
                ("trades", "Closed / total trades", f"{m.closed_trades} / {m.total_trades}"),
                ("win_rate", "Win rate", fmt_rate(m.win_rate)),
                ("average_win", "Average win", fmt_money(m.average_win)),
                ("average_loss", "Average loss", fmt_money(m.average_loss)),
                ("profit_factor", "Profit factor", fmt_profit_factor(m.profit_factor)),
                (
                    "sharpe",
                    f"Sharpe ({m.return_period}, ×√{m.periods_per_year})",
                    fmt_ratio(m.sharpe),
                ),
                (
                    "sortino",
                    f"Sortino ({m.return_period}, ×√{m.periods_per_year})",
                    fmt_ratio(m.sortino),
                ),
                ("max_drawdown", "Max drawdown", fmt_money(m.max_drawdown)),
                ("max_drawdown_percent", "Max drawdown %", fmt_percent(m.max_drawdown_percent)),
                ("current_drawdown", "Current drawdown", fmt_money(m.current_drawdown)),
                (
                    "current_drawdown_percent",
                    "Current drawdown %",
                    fmt_percent(m.current_drawdown_percent),
                ),
                ("fees_paid", "Fees paid", fmt_money(m.fees_paid)),
                ("max_exposure_usd", "Max exposure", fmt_money(m.max_exposure_usd)),
                ("peak_open_groups", "Peak open groups", fmt_int(m.peak_open_groups)),
                ("risk_actions", "Risk actions", fmt_int(m.risk_actions)),
            ]
        ),
    ]
    if report.parameters:
        parts.append(
            section(
                "parameters",
                "Parameters",
                table(["Setting", "Value"], list(report.parameters.items()), table_id="parameters"),
            )
        )
    exposure = report.exposure
    usage = [(r.at_ms, r.pool_usage_percent) for r in exposure if r.pool_usage_percent is not None]
    pool_series = [
        Series("open groups", BLUE, [(r.at_ms, Decimal(r.open_groups)) for r in exposure])
    ]
    if usage:
        pool_series = [Series("pool usage %", ORANGE, usage)]
    parts.append(
        section(
            "charts",
            "Equity, drawdown, returns, exposure",
            '<div class="charts">',
            equity_chart(report.equity),
            drawdown_chart(report.equity),
            histogram_chart(report.histogram),
            line_chart(
                "exposure",
                "Exposure (committed capital)",
                [
                    Series(
                        "exposure", GREEN, [(r.at_ms, r.exposure_usd) for r in exposure], fill=True
                    )
                ],
                "USDT",
            ),
            line_chart("pool", "Pool usage", pool_series, "%" if usage else "groups"),
            bar_chart(
                "legs",
                "DCA legs filled per pyramid",
                [Bar(f"{r.legs_filled} legs", r.pyramids, BLUE) for r in report.legs_per_pyramid],
                "legs filled (bar height: pyramids)",
            ),
            "</div>",
        )
    )
    parts.append(section("heatmap", "PnL per pair × timeframe", _heatmap(report.pnl_heatmap)))
    parts.append(
        section(
            "best-worst",
            "Best and worst trades",
            f"<h3>Best {len(report.best_trades)}</h3>",
            trades_table(report.best_trades, "best-trades"),
            f"<h3>Worst {len(report.worst_trades)}</h3>",
            trades_table(report.worst_trades, "worst-trades"),
        )
    )
    parts.append(section("symbols", "Per symbol", per_symbol_table(report.per_symbol)))
    parts.append(
        section(
            "fees",
            "Fees",
            table(
                ["Currency", "Amount"],
                [[f.currency, Cell(fmt_plain(f.amount), numeric=True)] for f in report.fees],
                table_id="fees",
            ),
        )
    )
    parts.append(section("risk", "Risk actions", _risk_table(report)))
    parts.append(section("queue", "Queue history", _queue_table(report)))
    parts.append(section("trades", "Trades", trades_table(report.trades, "trade-table")))
    parts.append(wall_clock_footer(report.wall_clock))
    return "".join(parts)


def _heat_color(value: Decimal, scale: Decimal) -> str:
    if scale == 0 or value == 0:
        return "#ffffff"
    strength = min(abs(value) / scale, Decimal(1))
    alpha = Decimal("0.08") + strength * Decimal("0.47")  # light enough to read the text
    rgb = "26,127,55" if value > 0 else "207,34,46"
    return f"rgba({rgb},{alpha:.2f})"


def _heatmap(cells: list[HeatmapCell]) -> str:
    if not cells:
        return '<p class="note">No trades.</p>'
    symbols = sorted({c.symbol for c in cells})
    timeframes = sorted({c.timeframe for c in cells}, key=lambda t: (t is None, t or 0))
    lookup = {(c.symbol, c.timeframe): c for c in cells}
    scale = max(abs(c.realised_pnl) for c in cells)
    head = "".join(f"<th>{esc(fmt_plain(t))}</th>" for t in timeframes)
    rows = []
    for symbol in symbols:
        tds = []
        for timeframe in timeframes:
            cell = lookup.get((symbol, timeframe))
            if cell is None:
                tds.append('<td class="num">—</td>')
                continue
            tds.append(
                f'<td class="num" '
                f'style="background:{_heat_color(cell.realised_pnl, scale)}" '
                f'title="{esc(cell.trades)} trades">{esc(fmt_money(cell.realised_pnl))}</td>'
            )
        rows.append(f"<tr><th>{esc(symbol)}</th>{''.join(tds)}</tr>")
    return (
        '<table id="pnl-heatmap"><thead><tr><th>Pair \\ timeframe (min)</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _risk_table(report: BacktestReport) -> str:
    actions = report.risk_actions
    if not actions:
        return '<p class="note">No risk actions.</p>'
    shown = actions[:ROW_LIMIT]
    return table(
        ["Time", "Loser", "Loss %", "Loss USD", "Closed qty", "Covered", "Winners", "Net"],
        [
            [
                a.time,
                a.loser_group_id,
                Cell(fmt_percent(a.loser_loss_percent), numeric=True),
                Cell(fmt_money(a.loser_loss_usd), numeric=True),
                Cell(fmt_plain(a.loser_close_quantity), numeric=True),
                Cell(fmt_money(a.covered_usd), numeric=True),
                ", ".join(
                    f"{w.group_id} ({fmt_plain(w.quantity)}, {fmt_money(w.realised_usd)})"
                    for w in a.winners
                ),
                Cell(fmt_money(a.net_usd), numeric=True, css=signed_css(a.net_usd)),
            ]
            for a in shown
        ],
        table_id="risk-actions",
    ) + limited_note(len(shown), len(actions), "risk actions")


def _queue_table(report: BacktestReport) -> str:
    events = report.queue_history
    if not events:
        return '<p class="note">No queue activity.</p>'
    counts: dict[str, int] = {}
    for event in events:
        counts[event.action] = counts.get(event.action, 0) + 1
    summary = table(
        ["Action", "Count"],
        [[a, Cell(fmt_int(n), numeric=True)] for a, n in sorted(counts.items())],
        table_id="queue-summary",
    )
    shown = events[:ROW_LIMIT]
    detail = table(
        ["Time", "Action", "Signal", "Exchange", "Symbol", "Side", "TF", "Reason", "Queue length"],
        [
            [
                e.time,
                e.action,
                e.signal_id,
                e.exchange or "—",
                e.symbol,
                e.side or "—",
                fmt_plain(e.timeframe),
                fmt_plain(e.reason),
                Cell(fmt_int(e.queue_length), numeric=True),
            ]
            for e in shown
        ],
        table_id="queue-history",
    )
    return summary + detail + limited_note(len(shown), len(events), "queue events")
