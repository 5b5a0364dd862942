"""Per-leg accounting (SPEC §6.2): fills, closes, fees, pro-rata allocation, unrealised PnL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.accounting import (
    MS_PER_DAY,
    allocate_pro_rata,
    book_close_fill,
    book_entry_fill,
    convert_fee,
    group_sellable,
    leg_sellable,
    leg_unrealised_usd,
    sellable,
    step_allocation,
    unrealised_percent,
    unrealised_usd,
    utc_day,
)
from engine.domain import PositionSide
from engine.state import GroupSettings, GroupState, LegState, Level, PyramidState
from tests.kit.engine_builders import D

LEVEL = Level(D("0"), D("100"), D("1"))
NO_FEE = convert_fee(D("0"), "USDT", D("1"), "BTC", "USDT")


def _leg() -> LegState:
    return LegState(index=0, level=LEVEL)


def _group(side: PositionSide, legs: list[LegState]) -> GroupState:
    settings = GroupSettings((tuple([LEVEL]),), 1, "market", "per_leg", D("0"), "limit", None)
    pyramid = PyramidState(0, "s", D("100"), D("1"), (LEVEL,), legs, 0)
    return GroupState("g1", "u", "binance", "BTCUSDT", 60, side, settings, 0, 0, pyramids=[pyramid])


def test_entry_fills_average_and_fees() -> None:
    leg = _leg()
    fee = convert_fee(D("0.05"), "USDT", D("100"), "BTC", "USDT")
    assert book_entry_fill(leg, D("1"), D("100"), fee) == D("-0.05")
    book_entry_fill(leg, D("3"), D("104"), NO_FEE)
    # (1 × 100 + 3 × 104) / 4 = 412 / 4 = 103
    assert leg.average_fill_price == D("103")
    assert (leg.filled_quantity, leg.open_cost, leg.realised_usd) == (D("4"), D("412"), D("-0.05"))
    assert leg.fees == {"USDT": D("0.05")} and leg.fees_usd == D("0.05")


def test_long_close_books_proportional_cost() -> None:
    leg = _leg()
    book_entry_fill(leg, D("4"), D("103"), NO_FEE)
    fee = convert_fee(D("0.1"), "USDT", D("110"), "BTC", "USDT")
    # close 1 at 110: proceeds 110 − cost 103 = +7, minus fee 0.1 = 6.9
    assert book_close_fill(leg, D("1"), D("110"), fee, PositionSide.LONG) == D("6.9")
    assert (leg.open_quantity, leg.open_cost, leg.closed_quantity) == (D("3"), D("309"), D("1"))
    # the rest at 100: 300 − 309 = −9
    assert book_close_fill(leg, D("3"), D("100"), NO_FEE, PositionSide.LONG) == D("-9")
    assert leg.realised_usd == D("-2.1") and leg.open_cost == 0


def test_short_close_profit_when_price_falls() -> None:
    leg = _leg()
    book_entry_fill(leg, D("2"), D("50"), NO_FEE)  # sold 2 at 50
    # bought back 1 at 45: (45 − 50) × 1 × −1 = +5
    assert book_close_fill(leg, D("1"), D("45"), NO_FEE, PositionSide.SHORT) == D("5")


def test_close_beyond_open_quantity_is_refused() -> None:
    leg = _leg()
    book_entry_fill(leg, D("1"), D("10"), NO_FEE)
    with pytest.raises(ValueError, match="quantity"):
        book_close_fill(leg, D("1.5"), D("10"), NO_FEE, PositionSide.LONG)
    with pytest.raises(ValueError, match="quantity"):
        book_entry_fill(leg, D("0"), D("10"), NO_FEE)


def test_fee_conversion_by_asset() -> None:
    assert convert_fee(D("1"), "USDT", D("50"), "BTC", "USDT").quote_value == D("1")
    # fee taken in the base asset: 0.001 BTC × 50 = 0.05 USDT
    assert convert_fee(D("0.001"), "btc", D("50"), "BTC", "USDT").quote_value == D("0.050")
    third = convert_fee(D("0.01"), "BNB", D("50"), "BTC", "USDT")
    assert third.quote_value is None and third.asset == "BNB"
    leg = _leg()
    book_entry_fill(leg, D("1"), D("50"), third)
    assert leg.fees == {"BNB": D("0.01")} and leg.realised_usd == 0


def test_pro_rata_allocation_exact_and_remainder() -> None:
    step = D("0.00001")
    # 50 % of 0.0002 / 0.0003 / 0.0005
    assert allocate_pro_rata(D("0.0005"), [D("0.0002"), D("0.0003"), D("0.0005")], step) == [
        D("0.00010"),
        D("0.00015"),
        D("0.00025"),
    ]
    # 0.00007 over 0.0002 / 0.0003 / 0.0005: exact 0.000014 / 0.000021 / 0.000035 → floors
    # 0.00001 / 0.00002 / 0.00003 (sum 0.00006); the last step goes to the biggest
    # remainder: 0.000004 (leg 1), 0.000001 (leg 2), 0.000005 (leg 3) → leg 3
    assert allocate_pro_rata(D("0.00007"), [D("0.0002"), D("0.0003"), D("0.0005")], step) == [
        D("0.00001"),
        D("0.00002"),
        D("0.00004"),
    ]
    assert allocate_pro_rata(D("0"), [D("1")], step) == [D("0")]
    with pytest.raises(ValueError, match="quantity"):
        allocate_pro_rata(D("2"), [D("1")], step)


def test_group_unrealised_usd_and_percent() -> None:
    legs = [_leg(), _leg()]
    book_entry_fill(legs[0], D("0.0002"), D("95992.3"), NO_FEE)
    book_entry_fill(legs[1], D("0.0003"), D("95512.33"), NO_FEE)
    group = _group(PositionSide.LONG, legs)
    # cost 19.19846 + 28.653699 = 47.852159; at 96000: 0.0005 × 96000 − 47.852159 = 0.147841
    assert unrealised_usd(group, D("96000")) == D("0.147841")
    # % = 0.147841 / 47.852159 × 100
    assert unrealised_percent(group, D("96000")) == D("0.147841") / D("47.852159") * 100
    assert group.average_entry == D("95704.318")
    assert leg_unrealised_usd(legs[0], D("96000"), PositionSide.LONG) == D("0.00154")
    short = _group(PositionSide.SHORT, legs)
    assert unrealised_usd(short, D("96000")) == D("-0.147841")
    assert unrealised_percent(_group(PositionSide.LONG, [_leg()]), D("1")) is None


def test_utc_day_boundaries() -> None:
    assert utc_day(0) == 0
    assert utc_day(MS_PER_DAY - 1) == 0
    assert utc_day(MS_PER_DAY) == 1
    assert isinstance(utc_day(1_750_000_000_000), int)
    assert Decimal(0) == 0


def test_base_fee_on_a_buy_leaves_the_net_quantity_at_the_fill_price() -> None:
    leg = _leg()
    fee = convert_fee(D("0.0000002"), "BTC", D("95992.3"), "BTC", "USDT")
    assert fee.in_base and fee.quote_value == D("0.01919846")  # 0.0000002 × 95992.3
    realised = book_entry_fill(leg, D("0.00020"), D("95992.3"), fee, receives_base=True)
    assert realised == D("-0.01919846")
    assert (leg.filled_quantity, leg.base_fee_quantity) == (D("0.00020"), D("0.0000002"))
    assert leg.open_quantity == D("0.0001998")
    # cost of the held part: 0.0001998 × 95992.3 = 19.17926154 (19.19846 − 0.01919846)
    assert leg.open_cost == D("19.17926154")
    assert leg.average_fill_price == D("95992.3")
    assert leg.fees == {"BTC": D("0.0000002")} and leg.fees_usd == D("0.01919846")
    # 0.0001998 → 0.00019 sellable at step 0.00001
    assert leg_sellable(leg, D("0.00001")) == D("0.00019")
    # close it all at 96000: 0.0001998 × (96000 − 95992.3) = 0.0001998 × 7.7 = 0.00153846
    assert book_close_fill(leg, D("0.0001998"), D("96000"), NO_FEE, PositionSide.LONG) == D(
        "0.00153846"
    )
    # realised + nothing open = 0.0001998 × 96000 − 0.0002 × 95992.3 (all the money spent)
    assert leg.realised_usd == D("0.0001998") * 96000 - D("0.00020") * D("95992.3")


def test_base_fee_on_a_sell_or_without_a_buy_does_not_change_the_quantity() -> None:
    leg = _leg()
    fee = convert_fee(D("0.001"), "BTC", D("100"), "BTC", "USDT")
    assert book_entry_fill(leg, D("1"), D("100"), fee) == D("-0.100")
    assert leg.open_quantity == D("1") and leg.open_cost == D("100")
    with pytest.raises(ValueError, match="fee"):
        book_entry_fill(_leg(), D("0.001"), D("100"), fee, receives_base=True)


def test_sellable_quantities_round_down_to_the_step() -> None:
    step = D("0.00001")
    assert sellable(D("0.0004995"), step) == D("0.00049")
    assert sellable(D("0.0000098"), step) == 0 and sellable(D("-1"), step) == 0
    legs = [_leg(), _leg()]
    fee = convert_fee(D("0.0000002"), "BTC", D("100"), "BTC", "USDT")
    book_entry_fill(legs[0], D("0.0002"), D("100"), fee, receives_base=True)
    book_entry_fill(legs[1], D("0.0003"), D("100"), NO_FEE, receives_base=True)
    legs[1].reserved_quantity = D("0.0001")  # promised to a close in flight
    # leg 0: 0.0001998 → 0.00019; leg 1: 0.0003 − 0.0001 = 0.0002
    assert group_sellable(_group(PositionSide.LONG, legs), step) == D("0.00039")


def test_step_allocation_sweeps_whole_steps_of_the_remainders() -> None:
    step = D("0.00001")
    # Σ 0.0001998 + 0.0002997 + 0.0004995 = 0.000999 → 0.00099; own steps 0.00019 +
    # 0.00029 + 0.00049 = 0.00097; the 0.00002 left: 0.0000098 (leg 0), 0.0000097 (leg 1),
    # 0.0000005 (leg 2)
    assert step_allocation([D("0.0001998"), D("0.0002997"), D("0.0004995")], step) == [
        D("0.0001998"),
        D("0.0002997"),
        D("0.0004905"),
    ]
    assert step_allocation([D("0.00020"), D("0.0000098")], step) == [D("0.00020"), D("0")]
    assert step_allocation([], step) == []


def test_pro_rata_spreads_over_sub_step_room() -> None:
    step = D("0.00001")
    # 0.00049 over 0.0001998 / 0.0002997: exact 0.000196 / 0.000294 → floors 0.00019 /
    # 0.00029; the last step fits neither leg whole (0.0002 > 0.0001998, 0.0003 > 0.0002997)
    # so it is spread, largest remainder first: leg 0 takes its room 0.0000098, leg 1 0.0000002
    assert allocate_pro_rata(D("0.00049"), [D("0.0001998"), D("0.0002997")], step) == [
        D("0.0001998"),
        D("0.0002902"),
    ]
