"""The backtest report computed from a small four-day run (numbers worked out by hand)."""

from __future__ import annotations

import itertools
import json
import statistics

import pytest

from reports.backtest import build_backtest_report
from reports.model import BacktestReport, load_report
from reports.records import EquityPoint, ExposurePoint, ReportInputError
from tests.kit.reports import DAY, HOUR, T0, D, backtest_inputs, backtest_report

Q6 = D("0.000001")


def test_trade_metrics() -> None:
    m = backtest_report().metrics
    # closed: bt1 +19.5, bt2 -20.2, bt3 -10, bt5 +30; bt4 open with 3 realised
    assert m.total_realised_pnl == D("22.3")  # 19.5 - 20.2 - 10 + 3 + 30
    assert (m.total_trades, m.closed_trades, m.open_trades, m.wins, m.losses) == (5, 4, 1, 2, 2)
    assert m.win_rate == D("0.5")
    assert m.average_win == D("24.75")  # (19.5 + 30) / 2
    assert m.average_loss == D("-15.1")  # (-20.2 - 10) / 2
    assert m.profit_factor == (D("49.5") / D("30.2")).quantize(Q6)  # 1.639073
    assert m.fees_paid == D("0.7")  # 0.5 + 0.2


def test_equity_metrics() -> None:
    m = backtest_report().metrics
    assert m.starting_equity == D(1000)
    assert m.ending_equity == D("1022.3")
    assert m.total_return_percent == D("2.23")  # 22.3 / 1000 * 100
    # peak 1019.5, trough 989.3: 30.2; 30.2 / 1019.5 * 100 = 2.9622...
    assert m.max_drawdown == D("30.2")
    assert m.max_drawdown_percent == (D("30.2") / D("1019.5") * 100).quantize(Q6)
    assert (m.current_drawdown, m.current_drawdown_percent) == (D(0), D(0))  # ends on a high


def test_sharpe_and_sortino_on_daily_closes() -> None:
    m = backtest_report().metrics
    # opening 1000; daily closes: day 0 1019.5, day 1 999.3, day 2 995, day 3 1022.3
    closes = [D(1000), D("1019.5"), D("999.3"), D(995), D("1022.3")]
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    sharpe = statistics.mean(returns) / statistics.stdev(returns) * D(365).sqrt()
    downside = (sum(min(r, D(0)) ** 2 for r in returns) / len(returns)).sqrt()
    sortino = statistics.mean(returns) / downside * D(365).sqrt()
    assert m.sharpe == sharpe.quantize(Q6)
    assert m.sortino == sortino.quantize(Q6)
    assert (m.return_period, m.periods_per_year) == ("1d", 365)


def test_hourly_period_changes_the_sharpe_inputs() -> None:
    report = backtest_report(return_period_ms=HOUR, periods_per_year=8760)
    assert report.metrics.return_period == "1h"
    assert report.metrics.sharpe != backtest_report().metrics.sharpe


def test_tables_and_series() -> None:
    report = backtest_report()
    assert [(c.symbol, c.timeframe, c.realised_pnl) for c in report.pnl_heatmap] == [
        ("BTCUSDT", 15, D(-10)),
        ("BTCUSDT", 60, D("49.5")),  # 19.5 + 30
        ("ETHUSDT", 15, D("-20.2")),
        ("SOLUSDT", 60, D(3)),
    ]
    assert [t.trade_id for t in report.best_trades] == ["bt5", "bt1", "bt3", "bt2"]
    assert [t.trade_id for t in report.worst_trades] == ["bt2", "bt3", "bt1", "bt5"]
    # bt1/p0 legs {0,1}; bt2/p0 {0}; bt3/p0 {0,1,2}; bt3/p1 {0}
    assert [(r.legs_filled, r.pyramids) for r in report.legs_per_pyramid] == [
        (1, 2),
        (2, 1),
        (3, 1),
    ]
    assert [(f.currency, f.amount) for f in report.fees] == [("USDT", D("0.09"))]  # 9 × 0.01
    assert report.metrics.max_exposure_usd == D(600)
    assert report.metrics.peak_open_groups == 3
    assert [r.pool_usage_percent for r in report.exposure] == [
        D(0),
        D("66.666667"),  # 2 / 3 * 100
        D(100),
        D("66.666667"),
    ]
    assert [e.realised for e in report.equity][-2:] == [D("992.3"), D("1022.3")]
    assert report.risk_actions[0].winners[0].group_id == "bt4"
    assert [q.action for q in report.queue_history] == ["queued", "replaced", "promoted"]
    assert report.period.start == "2026-01-01T00:00:00.000Z"
    assert report.period.end_ms == T0 + 3 * DAY + 2 * HOUR
    assert report.parameters == {"config": "scenarios/users/maaz.json", "tp_mode": "per_leg"}
    assert len(report.fills) == 9


def test_long_series_are_thinned_for_charts_but_measured_in_full() -> None:
    # a saw-tooth of 10,000 points with one deep dip at index 7,777
    points = [EquityPoint(T0 + i * 60_000, D(1000 + (i % 50))) for i in range(10_000)]
    points[7_777] = EquityPoint(points[7_777].at_ms, D(500))
    report = backtest_report(equity=points, max_chart_points=50)
    assert report.equity_points_total == 10_000
    assert len(report.equity) <= 50
    kept = {row.at_ms for row in report.equity}
    assert {points[0].at_ms, points[-1].at_ms, points[7_777].at_ms} <= kept
    assert max(row.total for row in report.equity) == D(1049)
    # the dip measured on the full series: peak 1049 before it, 1049 - 500 = 549
    assert report.metrics.max_drawdown == D(549)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ReportInputError) as caught:
        backtest_report(starting_equity=D(0))
    assert caught.value.field == "starting_equity"
    unsorted = [EquityPoint(T0 + 5, D(1)), EquityPoint(T0, D(1))]
    with pytest.raises(ReportInputError) as caught:
        backtest_report(equity=unsorted)
    assert caught.value.reason == "not_sorted"
    with pytest.raises(ReportInputError) as caught:
        backtest_report(parameters={"tp_mode": 3})
    assert caught.value.field == "parameters.tp_mode"


def test_fills_can_be_left_out_of_the_listing() -> None:
    report = backtest_report(include_fills=False)
    assert report.fills == []
    assert report.fills_total == 9
    assert len(report.legs_per_pyramid) == 3  # still computed from the fills
    assert [(f.currency, f.amount) for f in report.fees] == [("USDT", D("0.09"))]


def test_empty_run() -> None:
    report = build_backtest_report(trades=[], equity=[], starting_equity=D(100))
    assert report.metrics.ending_equity == D(100)
    assert report.metrics.sharpe is None
    assert report.metrics.win_rate is None
    assert report.equity == [] and report.fees == []


def test_round_trip_and_determinism() -> None:
    text = backtest_report().to_json()
    assert text == backtest_report().to_json()
    loaded = load_report(text)
    assert isinstance(loaded, BacktestReport)
    assert loaded.to_json() == text
    assert json.loads(text)["report_type"] == "backtest"
    assert backtest_inputs()["starting_equity"] == D(1000)


def test_exposure_thinning_keeps_the_busiest_pool_moment() -> None:
    points = [ExposurePoint(T0 + i * 60_000, D(100), 1, 5) for i in range(5_000)]
    points[3_333] = ExposurePoint(points[3_333].at_ms, D(100), 5, 5)  # pool full once
    report = backtest_report(exposure=points, max_chart_points=40)
    assert len(report.exposure) <= 40
    full = [r for r in report.exposure if r.open_groups == 5]
    assert [r.at_ms for r in full] == [points[3_333].at_ms]
    assert full[0].pool_usage_percent == D(100)  # 5 / 5 * 100
    assert report.metrics.peak_open_groups == 5
