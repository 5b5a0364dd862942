"""One test per assumption listed in docs/backtesting.md ("Assumptions").

The market: Binance BTCUSDT (tick 0.01, step 0.00001, fees 0.1 % maker and taker). The seed
grid: leg 0 20 % at market, leg 1 30 % at −0.5 %, leg 2 50 % at −1 %; TPs +1 %, +1 %, +2 %;
100 USDT per pyramid when the signal has no size. Bars (1 minute):

    T0        95000 flat
    T0+1m     open 95000, high 96000, low 94500, close 95500  (the low is nearer: 500 < 1000)
    T0+2m     95500 flat

so the path is 95000 (T0, +20 s, +40 s, +59.999 s), then 95000 (+60 s), 94500 (+80 s),
96000 (+100 s), 95500 (+119.999 s), then 95500.
"""

from __future__ import annotations

from decimal import Decimal

from backtest.setup import UserSetup
from backtest.signal_sources import TimedPayload
from simulator.slippage import FixedBpsSlippage
from tests.kit.backtest import MINUTE, T0, bars_frame, config_with, entry, replay

D = Decimal
BARS = {
    "BTCUSDT": bars_frame(
        [
            (T0, "95000", "95000", "95000", "95000"),
            (T0 + MINUTE, "95000", "96000", "94500", "95500"),
            (T0 + 2 * MINUTE, "95500", "95500", "95500", "95500"),
        ]
    )
}
SIGNAL_AT = T0 + 1_000  # between the ticks at T0 and T0 + 20 s


def _run(balance: str = "10000", **options):  # type: ignore[no-untyped-def]
    signals = [TimedPayload(SIGNAL_AT, entry(SIGNAL_AT, "BTCUSDT"), 1)]
    users = [UserSetup("maaz", config_with(), {"USDT": D(balance)})]
    return replay(BARS, signals, users, sample_ms=MINUTE, **options).recording


def test_signal_arrives_at_its_timestamp_and_market_orders_fill_at_the_last_tick() -> None:
    entry_fill = _run().fills[0]
    assert entry_fill.at_ms == SIGNAL_AT  # not at a bar boundary
    assert entry_fill.price == D("95000.00")  # the price of the last tick (T0)
    # leg 0 = 100 x 20 % / 95000 = 0.000210526 -> 0.00021 (down to the step)
    assert entry_fill.quantity == D("0.00021")


def test_intrabar_order_open_nearer_extreme_farther_extreme_close() -> None:
    fills = _run().fills
    # the low (94500, at +80 s) comes before the high (96000, at +100 s): leg 1 fills first,
    # then both take-profits; leg 2 at 94050 is never reached
    assert [(f.at_ms - T0, f.purpose, f.leg_index) for f in fills] == [
        (1_000, "entry", 0),
        (80_000, "dca", 1),
        (100_000, "tp", 1),
        (100_000, "tp", 0),
    ]


def test_resting_limits_fill_at_their_limit_price() -> None:
    fills = _run().fills
    # leg 1: 95000 x (1 - 0.5 %) = 94525.00, though the bar traded down to 94500
    assert (fills[1].price, fills[1].quantity) == (D("94525.00"), D("0.00031"))
    # TP of leg 1: 94525 x 1.01 = 95470.25; TP of leg 0: 95000 x 1.01 = 95950.00 (bar high 96000)
    assert [f.price for f in fills[2:]] == [D("95470.25"), D("95950.00")]


def test_market_orders_pay_the_slippage_model() -> None:
    fills = _run(slippage=FixedBpsSlippage(D(10))).fills
    # 10 bps against a buyer: 9,500,000 ticks x 1.001 = 9,509,500 ticks = 95095.00
    assert fills[0].price == D("95095.00")


def test_fees_come_from_the_market_data_and_buys_pay_them_in_quote() -> None:
    fills = _run().fills
    # 0.1 %: entry 0.00021 x 95000 x 0.001 = 0.01995; leg 1 0.00031 x 94525 x 0.001 = 0.0293...
    assert [(f.fee, f.fee_asset) for f in fills[:2]] == [
        (D("0.01995"), "USDT"),
        (D("0.029302750"), "USDT"),
    ]
    base = _run(spot_buy_fee_asset="base").fills
    assert (base[0].fee, base[0].fee_asset) == (D("0.00000021"), "BTC")  # 0.00021 x 0.1 %


def test_balances_are_enforced() -> None:
    recording = _run(balance="10")  # leg 0 needs 0.00021 x 95000 = 19.95 USDT plus its fee
    assert recording.fills == []
    assert [(r.reason, r.at_ms) for r in recording.rejections] == [
        ("insufficient_balance", SIGNAL_AT)
    ]


def test_signals_outside_the_price_data_are_skipped_and_listed() -> None:
    early, late = T0 - MINUTE, T0 + 10 * MINUTE
    signals = [
        TimedPayload(early, entry(early, "BTCUSDT"), 1),
        TimedPayload(late, entry(late, "BTCUSDT"), 2),
    ]
    recording = replay(BARS, signals, config_with()).recording
    assert [(s.line, s.reason) for s in recording.skipped] == [
        (1, "before_price_data"),
        (2, "after_price_data"),
    ]
    assert recording.orders == []


def test_equity_values_the_account_at_the_sample_instant() -> None:
    equity = _run().equity
    # at T0 + 60 s: cash 10000 - 19.95 - 0.01995 (entry and its fee) + 0.00021 BTC x 95000
    # (the resting DCA orders' locked cash still counts) = 9999.98005
    assert equity[1].at_ms == T0 + MINUTE
    assert equity[1].total == D("9999.98005")
    # at T0 + 120 s, after both TPs: + 0.00031 x (95470.25 - 94525) - 0.02930275 (leg 1 fee)
    # + 0.00021 x 95950 - its fee ... all settled in cash; the account holds no BTC:
    proceeds = D("0.00031") * D("95470.25") + D("0.00021") * D("95950")
    sell_fees = proceeds * D("0.001")
    cost = D("0.00021") * D("95000") + D("0.00031") * D("94525")
    buy_fees = cost * D("0.001")
    assert equity[2].total == D(10000) - cost - buy_fees + proceeds - sell_fees


def test_every_documented_assumption_names_a_test_here() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "backtesting.md").read_text()
    section = text.split("## Assumptions", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"\[`(test_\w+)`\]", section)
    assert len(named) == 8  # assumptions 1-8; the 9th (no matching, no latency) is the set-up
    assert all(name in globals() for name in named), named
