"""The runner end to end: files written, the report as JSON, TradingView trade lists,
Ctrl-C, the progress bar, input errors with lines, trades folded from fills."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from backtest.recorder import Recording, TradeSummary
from backtest.report import trade_records
from backtest.runner import BacktestRequest, ProgressBar, run_backtest, run_loaded
from backtest.setup import BacktestInputError, UserSetup
from backtest.signal_sources import TimedPayload
from reports.model import BacktestReport, load_report
from tests.kit.backtest import MINUTE, SEED_CONFIG, T0, config_with, entry
from tests.unit.backtest.test_assumptions import BARS

D = Decimal
TV_TRADES = (
    "Trade #,Type,Signal,Date/Time,Price USDT,Contracts,Profit USDT\n"
    "1,Entry Long,Long,2025-01-01 00:00,95000,0.001,0.4\n"
    "1,Exit Long,Close,2025-01-01 00:02,95500,0.001,0.4\n"
)


@pytest.fixture()
def prices(tmp_path: Path) -> Path:
    folder = tmp_path / "prices"
    folder.mkdir()
    frame = BARS["BTCUSDT"].rename(columns={"ts_ms": "timestamp"})
    frame.to_csv(folder / "BTCUSDT.csv", index=False)
    return folder


def test_a_tradingview_trade_list_end_to_end(prices: Path, tmp_path: Path) -> None:
    trades = tmp_path / "trades.csv"
    trades.write_text(TV_TRADES)
    out = tmp_path / "out"
    request = BacktestRequest(
        prices=prices,
        signals=trades,
        configs=[SEED_CONFIG],
        out=out,
        signals_format="tradingview",
        symbol="BTCUSDT",
        timeframe="60",
    )
    run_backtest(request)
    for name in ("backtest_report.json", "run.json", "report.html", "trades.csv", "equity.png"):
        assert (out / name).exists(), name
    report = load_report((out / "backtest_report.json").read_bytes())
    assert isinstance(report, BacktestReport)
    (trade,) = report.trades
    # capital 0.001 x 95000 = 95: leg 0 0.0002 @ 95000, leg 1 0.0003 @ 94525 (filled at the
    # bar's low); both TPs fill at the high: 0.0002 @ 95950, 0.0003 @ 95470.25; the exit at
    # 00:02 finds nothing open and cancels leg 2.
    # entry = (19 + 28.3575) / 0.0005 = 94715; exit = (19.19 + 28.641075) / 0.0005 = 95662.15
    # fees = 0.1 % of 95.188575 = 0.095188575; PnL = 947.15 x 0.0005 - fees = 0.378386425
    assert (trade.status, trade.entry_price, trade.exit_price) == (
        "CLOSED",
        D("94715"),
        D("95662.15"),
    )
    assert trade.quantity == D("0.0005")
    assert trade.profit_pnl == D("0.37838642")  # the report shows money to 8 places
    assert trade.exit_reason == "exit_signal"
    summary = json.loads((out / "run.json").read_text())
    assert summary["status"] == "completed"
    assert summary["outcomes"] == {"exited": 1, "opened": 1}


def test_ctrl_c_stops_with_a_partial_report(prices: Path) -> None:
    calls = []

    def progress(now: int, start: int, end: int) -> None:
        calls.append(now)
        if len(calls) == 2:
            raise KeyboardInterrupt

    request = BacktestRequest(prices=prices, signals=Path("-"), configs=[SEED_CONFIG])
    payloads = [TimedPayload(T0 + 1_000, entry(T0 + 1_000, "BTCUSDT"), 1)]
    users = [UserSetup("maaz", config_with(), {"USDT": D(10_000)})]
    from backtest.prices import load_price_folder

    outcome = run_loaded(request, load_price_folder(prices), payloads, users, progress=progress)
    assert outcome.result.status == "interrupted"
    assert outcome.report.title == "Backtest (interrupted)"
    assert outcome.report.parameters["status"] == "interrupted"
    # the second moment visited was the signal at T0 + 1 s; the report stops there
    assert outcome.result.end_ms == T0 + 1_000
    assert outcome.report.equity[-1].at_ms == T0 + 1_000


def test_progress_bar_draws_share_and_date() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    bar(T0 + 30 * MINUTE, T0, T0 + 60 * MINUTE)
    bar.close()
    assert stream.getvalue() == "\rbacktest [#####-----]  50.0% 2025-01-01 00:30\n"


def test_bad_signal_lines_are_reported_together(prices: Path, tmp_path: Path) -> None:
    signals = tmp_path / "signals.jsonl"
    lines = [
        entry(T0, "BTCUSDT"),
        entry(T0, "BTCUSDT", exchange="kraken"),
        entry(T0, "ETHUSDT"),  # a market, but no price file
        {"timestamp": T0, "tv": {"exchange": "binance"}},
    ]
    signals.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    request = BacktestRequest(prices=prices, signals=signals, configs=[SEED_CONFIG])
    with pytest.raises(BacktestInputError) as info:
        run_backtest(request)
    assert [p.line for p in info.value.problems] == [2, 3, 4]
    text = str(info.value)
    assert "kraken" in text and "no price data for ETHUSDT" in text and "tv.symbol" in text


def test_trades_fold_entry_and_close_fills() -> None:
    recording = Recording()
    closed = TradeSummary("u", "g1", "binance", "BTCUSDT", "long", 60)
    closed.entry_quantity, closed.entry_cost = D("2"), D("200")  # 2 @ 100
    closed.close_quantity, closed.close_proceeds = D("2"), D("230")  # 2 @ 115
    closed.fees_quote, closed.first_entry_ms, closed.closed_at_ms = D("0.43"), 1_000, 9_000
    closed.status, closed.close_reason, closed.pyramids = "closed", "take_profit", 2
    still_open = TradeSummary("u", "g2", "binance", "ETHUSDT", "short", 15)
    still_open.entry_quantity, still_open.entry_cost = D("4"), D("200")  # 4 @ 50
    still_open.first_entry_ms, still_open.status = 2_000, "active"
    still_open.open_quantity, still_open.realised_usd = D("3"), D("-0.2")
    failed = TradeSummary("u", "g3", "binance", "ETHUSDT", "long", 15)  # never filled
    recording.trades = {("u", "g1"): closed, ("u", "g2"): still_open, ("u", "g3"): failed}
    first, second = trade_records(recording)
    assert (first.entry_price, first.exit_price, first.quantity) == (D(100), D(115), D(2))
    assert first.realised_pnl == D("29.57")  # (115 - 100) x 2 - 0.43
    assert first.exit_reason == "take_profit" and first.exit_time_ms == 9_000
    assert (second.entry_price, second.quantity, second.exit_price) == (D(50), D(3), None)
    assert second.realised_pnl == D("-0.2")
