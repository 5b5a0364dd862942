"""The flow's price arithmetic, every expected number worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qtrade.e2e.prices import exit_target, leg_sizes, path_yaml, protective_levels, weighted_average
from simulator.exchange import Simulator
from tests.kit.e2e import market

D = Decimal
TICK = D("0.01")
LEVELS = [
    {"gap_percent": D(0), "weight_percent": D(20)},
    {"gap_percent": D("-0.5"), "weight_percent": D(30)},
    {"gap_percent": D(-1), "weight_percent": D(50)},
]


def test_long_levels_round_down_to_the_tick() -> None:
    # 96472.26 x 1.01 = 97436.9826 -> 97436.98 ; 96472.26 x 0.98 = 94542.8148 -> 94542.81
    assert protective_levels(D("96472.26"), "long", D(1), D(2), TICK) == (
        D("97436.98"),
        D("94542.81"),
    )


def test_short_levels_are_mirrored() -> None:
    # 3380.42 x 0.99 = 3346.6158 -> 3346.61 ; 3380.42 x 1.02 = 3448.0284 -> 3448.02
    assert protective_levels(D("3380.42"), "short", D(1), D(2), TICK) == (
        D("3346.61"),
        D("3448.02"),
    )


def test_leg_sizes_follow_the_seed_grid() -> None:
    btc = market("BTCUSDT", "0.01", "0.00001", "0.00001")
    legs = leg_sizes(D(100), D("96472.26"), "long", LEVELS, btc)
    # leg 0: 20 / 96472.26 = 0.000207... -> 0.00020 at 96472.26
    # leg 1: 96472.26 x 0.995 = 95989.8987 -> 95989.89 ; 30 / 95989.89 = 0.0003125 -> 0.00031
    # leg 2: 96472.26 x 0.99 = 95507.5374 -> 95507.53 ; 50 / 95507.53 = 0.0005235 -> 0.00052
    assert [(leg.price, leg.quantity) for leg in legs] == [
        (D("96472.26"), D("0.00020")),
        (D("95989.89"), D("0.00031")),
        (D("95507.53"), D("0.00052")),
    ]
    # notional 0.00031 x 95989.89 = 29.7568659
    assert legs[1].notional == D("29.7568659")


def test_short_legs_rest_above_the_price() -> None:
    eth = market("ETHUSDT", "0.01", "0.0001", "0.0001")
    legs = leg_sizes(D(100), D(3000), "short", LEVELS, eth)
    # short: 3000 x (1 + 0.5 %) = 3015 ; 3000 x 1.01 = 3030 ; 30 / 3015 = 0.00995 -> 0.0099
    assert [(leg.price, leg.quantity) for leg in legs] == [
        (D("3000.00"), D("0.0066")),  # 20 / 3000 = 0.006666 -> 0.0066
        (D("3015.00"), D("0.0099")),
        (D("3030.00"), D("0.0165")),  # 50 / 3030 = 0.016501 -> 0.0165
    ]


def test_exit_targets_are_rounded_past_the_level() -> None:
    # rising: 127.61 x 1.005 = 128.24805 -> up to 128.25
    assert exit_target(D("127.61"), True, D("0.5"), TICK) == D("128.25")
    # falling: 94542.81 x 0.995 = 94070.09595 -> down to 94070.09
    assert exit_target(D("94542.81"), False, D("0.5"), TICK) == D("94070.09")


def test_weighted_average() -> None:
    # (0.00020 x 96472.26 + 0.00031 x 95989.89 + 0.00052 x 95507.53) / 0.00103
    # = (19.294452 + 29.7568659 + 49.6639156) / 0.00103 = 98.7152335 / 0.00103
    quantity, average = weighted_average(
        [
            (D("0.00020"), D("96472.26")),
            (D("0.00031"), D("95989.89")),
            (D("0.00052"), D("95507.53")),
        ]
    )
    assert quantity == D("0.00103")
    assert average == D("98.7152335") / D("0.00103")
    with pytest.raises(ValueError, match="parts"):
        weighted_average([])


def test_path_yaml_moves_from_the_current_price_in_the_simulator() -> None:
    text = path_yaml(
        {"SOLUSDT": D("126.35"), "BTCUSDT": D("96472.26")},
        {"SOLUSDT": D("128.25")},
        over_seconds=30,
        step_seconds=1,
    )
    assert text == (
        "step: 1s\nprices: {SOLUSDT: 126.35}\ntimeline:\n  - {SOLUSDT: 128.25 over 30s}\n"
    )
    sim = Simulator(seed=0)
    sim.load_path_text(text)
    venue = sim.venue("binance")
    assert venue.last_price("SOLUSDT") == D("126.35")  # starts where the market is
    sim.advance(by_ms=15_000)
    # tick 15 of 30: 126.35 + (128.25 - 126.35) x 15 / 30 = 127.30
    assert venue.last_price("SOLUSDT") == D("127.30")
    sim.advance(by_ms=15_000)
    assert venue.last_price("SOLUSDT") == D("128.25")


def test_path_yaml_refuses_a_symbol_without_a_price() -> None:
    with pytest.raises(ValueError, match="start_prices"):
        path_yaml({}, {"BTCUSDT": D(1)}, 10, 1)
    with pytest.raises(ValueError, match="targets"):
        path_yaml({"BTCUSDT": D(1)}, {}, 10, 1)
