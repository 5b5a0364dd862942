"""Every metric against a value worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest

from engine.domain import OrderPurpose, OrderSide
from reports import metrics
from reports.records import FillRecord, ReportInputError, TradeRecord
from tests.kit.reports import DAY, D


def test_win_rate_counts_breakeven_in_the_denominator_only() -> None:
    # wins: 10, 5 -> 2; trades: 10, -3, 0, 5 -> 4; 2 / 4 = 0.5
    assert metrics.win_rate([D(10), D(-3), D(0), D(5)]) == D("0.5")
    assert metrics.win_rate([]) is None


def test_average_win_and_loss() -> None:
    pnls = [D(10), D(-3), D(0), D(5), D(-6)]
    assert metrics.average_win(pnls) == D("7.5")  # (10 + 5) / 2
    assert metrics.average_loss(pnls) == D("-4.5")  # (-3 - 6) / 2
    assert metrics.average_win([D(-1)]) is None
    assert metrics.average_loss([D(1)]) is None


def test_profit_factor_is_gross_profit_over_gross_loss() -> None:
    # gross profit 10 + 5 = 15, gross loss 3 + 6 = 9 -> 15 / 9 = 5 / 3
    assert metrics.profit_factor([D(10), D(-3), D(5), D(-6)]) == D(5) / D(3)


def test_profit_factor_without_a_loss_is_none_not_zero() -> None:
    # the seed's sample reports 0.0 for three winners: the ratio is undefined, not 0
    assert metrics.profit_factor([D(19), D(2), D(1)]) is None
    assert metrics.profit_factor([]) is None


def test_total_return_percent() -> None:
    assert metrics.total_return_percent(D(1000), D(1100)) == D(10)  # 100 / 1000 * 100
    assert metrics.total_return_percent(D(1000), D(950)) == D(-5)  # -50 / 1000 * 100
    assert metrics.total_return_percent(D(0), D(5)) is None


def test_max_drawdown_takes_money_and_percent_maxima_separately() -> None:
    # peaks 10, 10, 100, 100; falls 0, 5, 0, 40 -> absolute 40
    # percent: 5 / 10 = 50 % beats 40 / 100 = 40 %
    result = metrics.max_drawdown([D(10), D(5), D(100), D(60)])
    assert result.absolute == D(40)
    assert result.percent == D(50)


def test_max_drawdown_of_a_rising_series_is_zero() -> None:
    result = metrics.max_drawdown([D(1), D(2), D(3)])
    assert result.absolute == 0
    assert result.percent == 0


def test_max_drawdown_percent_needs_a_positive_peak() -> None:
    # a PnL-only curve that never rises above 0: falls 0, 2, 1 -> 2, no % defined
    result = metrics.max_drawdown([D(0), D(-2), D(-1)])
    assert result.absolute == D(2)
    assert result.percent is None
    assert metrics.max_drawdown([]) == metrics.Drawdown(D(0), None)


def test_drawdown_series() -> None:
    # peaks 100, 120, 120, 130, 130; falls 0, 0, 30, 0, 65
    assert metrics.drawdown_series([D(100), D(120), D(90), D(130), D(65)]) == [
        D(0),
        D(0),
        D(30),
        D(0),
        D(65),
    ]


def test_current_drawdown() -> None:
    # peak 120, last 110: 10 below, 10 / 120 * 100 = 8.333...%
    result = metrics.current_drawdown([D(100), D(120), D(90), D(110)])
    assert result.absolute == D(10)
    assert result.percent == D(10) / D(120) * 100
    assert metrics.current_drawdown([D(1), D(2)]).absolute == 0


def test_period_returns_use_daily_closes_and_fill_empty_days() -> None:
    points = [(0, D(100)), (DAY // 2, D(105)), (DAY + 1, D(110)), (3 * DAY + 5, D(99))]
    # opening 100; closes: day 0 -> 105, day 1 -> 110, day 2 -> 110 (no point), day 3 -> 99
    assert metrics.period_returns(points) == [
        D(105) / D(100) - 1,  # 0.05
        D(110) / D(105) - 1,  # 1/21
        D(0),
        D(99) / D(110) - 1,  # -0.1
    ]


def test_period_returns_refuse_unsorted_points_and_undefined_bases() -> None:
    with pytest.raises(ReportInputError) as caught:
        metrics.period_returns([(DAY, D(1)), (0, D(1))])
    assert caught.value.field == "equity.at_ms"
    assert caught.value.reason == "not_sorted"
    assert metrics.period_returns([(0, D(0)), (DAY, D(5))]) is None


def test_sharpe_is_mean_over_sample_stdev_annualised() -> None:
    # returns 0.01, 0.03: mean 0.02, sample stdev sqrt((0.01² + 0.01²) / 1) = 0.01·√2
    # 0.02 / (0.01·√2) = √2; × √365 = √730
    sharpe = metrics.sharpe_ratio([D("0.01"), D("0.03")], 365)
    assert sharpe is not None
    assert abs(sharpe - D(730).sqrt()) < D("1e-20")


def test_sharpe_against_the_statistics_module() -> None:
    returns = [D("0.012"), D("-0.004"), D("0.007"), D("0.0"), D("-0.011")]
    expected = statistics.mean(returns) / statistics.stdev(returns) * D(252).sqrt()
    sharpe = metrics.sharpe_ratio(returns, 252)
    assert sharpe is not None
    assert abs(sharpe - expected) < D("1e-20")


def test_sharpe_undefined_for_zero_variance_or_one_return() -> None:
    assert metrics.sharpe_ratio([D("0.01"), D("0.01"), D("0.01")], 365) is None
    assert metrics.sharpe_ratio([D("0.01")], 365) is None


def test_sortino_uses_downside_deviation_over_all_periods() -> None:
    # returns 0.02, -0.01, 0.02, -0.01: mean 0.005
    # downside sqrt((0.01² + 0.01²) / 4) = sqrt(0.00005) = 0.01/√2
    # 0.005 / (0.01/√2) = √2/2; × √365 = √(365/2) = √182.5
    sortino = metrics.sortino_ratio([D("0.02"), D("-0.01"), D("0.02"), D("-0.01")], 365)
    assert sortino is not None
    assert abs(sortino - D("182.5").sqrt()) < D("1e-20")


def test_sortino_undefined_without_downside() -> None:
    assert metrics.sortino_ratio([D("0.01"), D("0.02")], 365) is None


def _trade(trade_id: str, entry: str, exit_: str, symbol: str = "BTCUSDT") -> TradeRecord:
    return TradeRecord(trade_id, symbol, "long", D(entry), D(1), 0, D(exit_), 1)


def test_best_and_worst_trades_only_closed_ties_by_id() -> None:
    trades = [
        _trade("a", "100", "110"),  # +10
        _trade("b", "100", "95"),  # -5
        _trade("c", "100", "110"),  # +10 (tie with a)
        _trade("d", "100", "130"),  # +30
        TradeRecord("open", "BTCUSDT", "long", D(1), D(1), 0, open_realised_pnl=D(99)),
    ]
    assert [t.trade_id for t in metrics.best_trades(trades, 3)] == ["d", "a", "c"]
    assert [t.trade_id for t in metrics.worst_trades(trades, 2)] == ["b", "a"]


def test_histogram_nice_bins() -> None:
    values = [D(v) for v in ("-2", "-1", "0", "1", "3", "8")]
    # span 10 over at most 5 bins: width 1 needs 11 bins, 2 needs 6 (-2..10), 2.5 needs 5:
    # start floor(-2 / 2.5) * 2.5 = -2.5 -> [-2.5,0) [0,2.5) [2.5,5) [5,7.5) [7.5,10)
    bins = metrics.histogram(values, 5)
    assert [(b.lower, b.upper, b.count) for b in bins] == [
        (D("-2.5"), D(0), 2),  # -2, -1
        (D(0), D("2.5"), 2),  # 0, 1
        (D("2.5"), D(5), 1),  # 3
        (D(5), D("7.5"), 0),
        (D("7.5"), D(10), 1),  # 8
    ]


def test_histogram_single_value_and_empty() -> None:
    # span 0 -> use |5| = 5; 5 / 10 bins = 0.5, whose power of ten is 0.1: width 0.1 already
    # fits (one bin), start floor(5 / 0.1) * 0.1 = 5 -> [5, 5.1)
    assert [(b.lower, b.upper, b.count) for b in metrics.histogram([D(5)] * 3)] == [
        (D(5), D("5.1"), 3)
    ]
    assert metrics.histogram([]) == []


def test_per_symbol_table() -> None:
    trades = [
        TradeRecord("1", "BTCUSDT", "long", D(100), D(2), 0, D(110), 5, fees=D(1), exchange="b"),
        TradeRecord("2", "BTCUSDT", "short", D(100), D(1), 0, D(104), 5, exchange="b"),
        TradeRecord("3", "ETHUSDT", "long", D(10), D(1), 0, exchange="b", open_realised_pnl=D(2)),
        TradeRecord("4", "BTCUSDT", "long", D(100), D(1), 0, D(101), 5, exchange="a"),
    ]
    rows = metrics.per_symbol_table(trades)
    assert [(r.exchange, r.symbol) for r in rows] == [
        ("a", "BTCUSDT"),
        ("b", "BTCUSDT"),
        ("b", "ETHUSDT"),
    ]
    btc = rows[1]
    # trade 1: (110 - 100) * 2 - 1 = 19; trade 2 short: (100 - 104) * 1 = -4 -> 15
    assert (btc.trades, btc.closed, btc.wins, btc.losses) == (2, 2, 1, 1)
    assert btc.realised_pnl == D(15)
    assert btc.win_rate == D("0.5")
    assert btc.fees == D(1)
    eth = rows[2]
    assert (eth.closed, eth.win_rate, eth.realised_pnl) == (0, None, D(2))


def test_pnl_by_pair_timeframe() -> None:
    def trade(tid: str, symbol: str, tf: int | None, exit_: str) -> TradeRecord:
        return TradeRecord(tid, symbol, "long", D(100), D(1), 0, D(exit_), 1, timeframe=tf)

    cells = metrics.pnl_by_pair_timeframe(
        [
            trade("1", "ETHUSDT", 60, "90"),  # -10
            trade("2", "BTCUSDT", 60, "105"),  # +5
            trade("3", "BTCUSDT", 15, "103"),  # +3
            trade("4", "BTCUSDT", 60, "101"),  # +1 -> 60 min cell 6
            trade("5", "BTCUSDT", None, "100"),  # 0, timeframe unknown sorts last
        ]
    )
    assert [(c.symbol, c.timeframe, c.trades, c.realised_pnl) for c in cells] == [
        ("BTCUSDT", 15, 1, D(3)),
        ("BTCUSDT", 60, 2, D(6)),
        ("BTCUSDT", None, 1, D(0)),
        ("ETHUSDT", 60, 1, D(-10)),
    ]


def test_fill_rate() -> None:
    assert metrics.fill_rate(4, 3) == D("0.75")
    assert metrics.fill_rate(0, 0) is None
    with pytest.raises(ReportInputError) as caught:
        metrics.fill_rate(2, 3)
    assert caught.value.field == "orders_filled"


def test_nearest_rank_percentiles() -> None:
    samples = [15, 20, 35, 40, 50]
    assert metrics.percentile_nearest_rank(samples, 30) == 20  # rank ceil(1.5) = 2
    assert metrics.percentile_nearest_rank(samples, 40) == 20  # rank ceil(2.0) = 2
    assert metrics.percentile_nearest_rank(samples, 50) == 35  # rank ceil(2.5) = 3
    assert metrics.percentile_nearest_rank(samples, 100) == 50
    hundred = list(range(100, 0, -1))  # 1..100 in reverse: sorting is the function's job
    assert metrics.percentile_nearest_rank(hundred, 95) == 95
    assert metrics.percentile_nearest_rank(hundred, 99) == 99
    assert metrics.percentile_nearest_rank([], 50) is None
    with pytest.raises(ReportInputError):
        metrics.percentile_nearest_rank(samples, 0)


def test_latency_summary() -> None:
    # 20 samples 1..20: p50 rank 10 -> 10, p95 rank 19 -> 19, p99 rank ceil(19.8) = 20 -> 20
    summary = metrics.latency_summary(list(range(1, 21)))
    assert (summary.count, summary.p50, summary.p95, summary.p99, summary.max) == (
        20,
        10,
        19,
        20,
        20,
    )
    with pytest.raises(ReportInputError) as caught:
        metrics.latency_summary([1, -2])
    assert caught.value.reason == "bad_sample"


def test_legs_filled_per_pyramid_counts_distinct_entry_legs() -> None:
    def fill(group: str, pyramid: int, leg: int, purpose: OrderPurpose) -> FillRecord:
        return FillRecord(0, group, "BTCUSDT", pyramid, leg, purpose, OrderSide.BUY, D(1), D(1))

    fills = [
        fill("g1", 0, 0, OrderPurpose.ENTRY),
        fill("g1", 0, 1, OrderPurpose.DCA),
        fill("g1", 0, 1, OrderPurpose.DCA),  # a second partial fill of leg 1
        fill("g1", 0, 2, OrderPurpose.TAKE_PROFIT),  # not an entry leg
        fill("g1", 1, 0, OrderPurpose.ENTRY),
        fill("g2", 0, 0, OrderPurpose.ENTRY),
    ]
    # g1/p0: legs {0, 1} -> 2; g1/p1: {0} -> 1; g2/p0: {0} -> 1
    assert metrics.legs_filled_per_pyramid(fills) == [(1, 2), (2, 1)]


def test_metrics_never_accept_floats() -> None:
    with pytest.raises(TypeError):
        metrics.profit_factor([Decimal(1), -0.5])  # type: ignore[list-item]
