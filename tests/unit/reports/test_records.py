"""Input records validate themselves and name the bad field with a reason code."""

from __future__ import annotations

import pytest

from engine.domain import OrderPurpose, OrderSide, PositionSide
from reports.records import (
    CheckResult,
    EquityPoint,
    FillRecord,
    ReportInputError,
    ScenarioResult,
    TradeRecord,
)
from tests.kit.reports import D


def test_long_trade_pnl_and_return() -> None:
    # (43335.51 - 42500.50) * 0.00235 = 835.01 * 0.00235 = 1.9622735
    trade = TradeRecord("t", "BTCUSDT", "buy", D("42500.50"), D("0.00235"), 0, D("43335.51"), 9)
    assert trade.side is PositionSide.LONG
    assert trade.realised_pnl == D("1.9622735")
    # 1.9622735 / (42500.50 * 0.00235) * 100 = 835.01 / 42500.50 * 100
    assert trade.return_percent == D("1.9622735") / (D("42500.50") * D("0.00235")) * 100


def test_short_trade_pnl_is_entry_minus_exit_net_of_fees() -> None:
    # (2400 - 2352) * 0.0416 - 0.1 = 1.9968 - 0.1 = 1.8968
    trade = TradeRecord(
        "t", "ETHUSDT", "SELL", D("2400.00"), D("0.0416"), 0, D("2352.00"), 9, fees=D("0.1")
    )
    assert trade.realised_pnl == D("1.8968")
    losing = TradeRecord("u", "ETHUSDT", "short", D(100), D(2), 0, D(110), 9)
    assert losing.realised_pnl == D(-20)  # (100 - 110) * 2


def test_open_trade_has_no_return_and_reports_given_realised_part() -> None:
    trade = TradeRecord("t", "SOLUSDT", "long", D(20), D(5), 0, open_realised_pnl=D(3))
    assert not trade.is_closed
    assert trade.realised_pnl == D(3)
    assert trade.return_percent is None


def test_closed_trade_with_dust_left_open_reports_the_given_pnl() -> None:
    # bought 1.00 @ 10, 0.01 kept as fee, sold 0.98 @ 12 (whole steps of 0.02): the averages
    # would say (12 - 10) x 1 - 0.1 = 1.9; the 0.01 left is still held at cost 0.1, so the
    # realised figure is 11.76 - 10 + 0.1 - 0.1 (fee 0.01 x 10) = 1.76
    trade = TradeRecord(
        "t", "SOLUSDT", "long", D(10), D(1), 0, D(12), 9, fees=D("0.1"), closed_pnl=D("1.76")
    )
    assert trade.realised_pnl == D("1.76")
    assert trade.return_percent == D("17.6")  # 1.76 / 10 x 100


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"entry_price": D(0)}, "trade['t'].entry_price", "not_positive"),
        ({"quantity": D(-1)}, "trade['t'].quantity", "not_positive"),
        ({"entry_price": 1.5}, "trade['t'].entry_price", "not_a_decimal"),
        ({"side": "up"}, "trade['t'].side", "bad_side"),
        ({"exit_price": D(5)}, "trade['t'].exit_time_ms", "incomplete_exit"),
        ({"exit_price": D(5), "exit_time_ms": 5}, "trade['t'].exit_time_ms", "exit_before_entry"),
        (
            {"exit_price": D(5), "exit_time_ms": 20, "open_realised_pnl": D(1)},
            "trade['t'].open_realised_pnl",
            "closed_trade",
        ),
        ({"closed_pnl": D(1)}, "trade['t'].closed_pnl", "open_trade"),
        (
            {"exit_price": D(5), "exit_time_ms": 20, "closed_pnl": 1.5},
            "trade['t'].closed_pnl",
            "not_a_decimal",
        ),
        ({"timeframe": 0}, "trade['t'].timeframe", "out_of_range"),
        ({"symbol": " "}, "trade['t'].symbol", "empty"),
    ],
)
def test_bad_trade_input_names_field_and_reason(kwargs: dict, field: str, reason: str) -> None:
    arguments = {
        "trade_id": "t",
        "symbol": "BTCUSDT",
        "side": "long",
        "entry_price": D(10),
        "quantity": D(1),
        "entry_time_ms": 10,
    } | kwargs
    with pytest.raises(ReportInputError) as caught:
        TradeRecord(**arguments)
    assert caught.value.field == field
    assert caught.value.reason == reason
    assert field in str(caught.value)


def test_other_records_validate() -> None:
    with pytest.raises(ReportInputError) as caught:
        EquityPoint(5, 1.0)  # type: ignore[arg-type]
    assert caught.value.field == "equity[5].total"
    with pytest.raises(ReportInputError) as caught:
        FillRecord(0, "g", "BTCUSDT", 0, 0, "nope", OrderSide.BUY, D(1), D(1))  # type: ignore[arg-type]
    assert caught.value.reason == "bad_purpose"
    fill = FillRecord(0, "g", "BTCUSDT", 0, 1, "dca", "buy", D(1), D(1))  # type: ignore[arg-type]
    assert fill.purpose is OrderPurpose.DCA
    with pytest.raises(ReportInputError) as caught:
        CheckResult("prediction", "x", "yes")  # type: ignore[arg-type]
    assert caught.value.reason == "not_a_bool"
    with pytest.raises(ReportInputError) as caught:
        ScenarioResult("k", "t1_1", "n", "phase1", "failed")
    assert caught.value.field == "scenario['k'].failing_step"
    with pytest.raises(ReportInputError) as caught:
        ScenarioResult("k", "t1_1", "n", "phase1", "broken")
    assert caught.value.reason == "bad_status"
