"""Event times, the risk-cycle schedule, and the risk scan's necessary condition."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.risk_scan import ScanGroup, ScanMarket, first_possible_offset
from backtest.schedule import EventTimes, cycle_at_or_after, cycle_at_or_before
from engine.domain import PositionSide, round_down, round_up
from engine.offset import OffsetPosition, plan_offset


def _array(values: list[int]) -> np.ndarray:  # type: ignore[type-arg]
    return np.array(values, dtype=np.int64)


def test_event_times_merge_ticks_and_signals() -> None:
    a = _array([0, 20_000, 40_000, 59_999, 60_000])
    events = EventTimes([a, a.copy(), _array([30_000])], [7_000, 20_000])
    assert events.times.tolist() == [0, 7_000, 20_000, 30_000, 40_000, 59_999, 60_000]
    assert events.at_or_after(20_001) == 30_000 and events.after(60_000) is None


def test_cycle_schedule_on_one_minute_bars_by_hand() -> None:
    # ticks of two 1-minute bars; a 10 s interval: 0 -> first >= 10 s is 20 s -> 40 s ->
    # 59.999 s -> first >= 69.999 s is 80 s (the open at 60 s comes 1 ms too early)
    ticks = [0, 20_000, 40_000, 59_999, 60_000, 80_000, 100_000, 119_999]
    cycles = EventTimes([_array(ticks)], []).cycle_times(10_000)
    assert cycles.tolist() == [0, 20_000, 40_000, 59_999, 80_000, 100_000, 119_999]
    assert cycle_at_or_before(cycles, 60_000) == 59_999
    assert cycle_at_or_after(cycles, 60_000) == 80_000


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=200), st.integers(1, 3_000))
def test_cycle_schedule_matches_the_greedy_rule(times: list[int], interval: int) -> None:
    events = EventTimes([_array(sorted(times))], [])
    expected = []
    last = None
    for moment in sorted(set(times)):  # the engine: a cycle on the first event >= last + I
        if last is None or moment - last >= interval:
            expected.append(moment)
            last = moment
    assert events.cycle_times(interval).tolist() == expected


_TICK = Decimal("0.01")
_STEP = Decimal("0.001")


def _scan_group(position: OffsetPosition, *, loser: bool, notional: Decimal) -> ScanGroup:
    ticks = int(position.mark_price / _TICK)
    market = ScanMarket(_array([0]), _array([ticks]), float(_TICK))
    closable = round_down(position.open_quantity, _STEP)
    usable = closable > 0 and closable >= position.min_qty
    return ScanGroup(
        market=market,
        long=position.side is PositionSide.LONG,
        average=float(position.average_price),
        closable=float(closable),
        fee=float(position.fee_rate),
        notional_from=float(notional / closable) if usable else None,
        loser_price=float(position.mark_price) if loser else None,
        smallest_quantity=float(max(round_up(position.min_qty, _STEP), _STEP)),
        min_close_notional=float(notional),
    )


_prices = st.integers(1_000, 20_000).map(lambda n: Decimal(n) * _TICK)
_quantities = st.integers(1, 5_000).map(lambda n: Decimal(n) * _STEP)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from([PositionSide.LONG, PositionSide.SHORT]),
    loser=st.tuples(_prices, _quantities, st.integers(1, 30)),
    winners=st.lists(st.tuples(_prices, _quantities, st.integers(1, 30)), max_size=3),
    notional=st.sampled_from([Decimal(0), Decimal(1), Decimal(10)]),
    partial=st.booleans(),
)
def test_whenever_the_engine_offsets_the_scan_says_possible(  # type: ignore[no-untyped-def]
    side, loser, winners, notional, partial
) -> None:
    fee = Decimal("0.001")

    def position(name: str, price: Decimal, quantity: Decimal, move: int, losing: bool):  # type: ignore[no-untyped-def]
        # the mark is ``move`` % away from the average, against or for the position
        sign = side.sign * (-1 if losing else 1)
        mark = round_down(price * (1 + Decimal(sign * move) / 100), _TICK)
        return OffsetPosition(name, side, quantity, price, mark, _STEP, _STEP, fee)

    loser_position = position("L", *loser, losing=True)
    winner_positions = [position(f"W{i}", *w, losing=False) for i, w in enumerate(winners)]
    plan = plan_offset(
        loser_position,
        winner_positions,
        partial_close_enabled=partial,
        min_close_notional=notional,
    )
    groups = [_scan_group(loser_position, loser=True, notional=notional)]
    groups += [_scan_group(w, loser=False, notional=notional) for w in winner_positions]
    found = first_possible_offset(groups, _array([10]), after=0, limit=20)
    if plan is not None:
        assert found == 10


def test_scan_finds_the_first_cycle_where_a_winner_pays_by_hand() -> None:
    # Loser: long 1.000 @ avg 100, loses below 97 (threshold -3 %). At 97 an offset of the
    # smallest close (max(step 0.001, 10 / 97 = 0.103...)) costs (100 - 97 x 0.999) x 0.1031
    # = 3.097 x 0.10309 = 0.3193. Winner: long 1.000 @ avg 50 (fee 0.1 %): it nets
    # 1 x (mark x 0.999 - 50), >= 0.3193 from mark 50.3196...; at 50.30 it nets 0.2497.
    loser_market = ScanMarket(_array([0, 100]), _array([9700, 9700]), 0.01)
    winner_market = ScanMarket(_array([0, 100, 200]), _array([5000, 5030, 5040]), 0.01)
    loser_group = ScanGroup(loser_market, True, 100.0, 1.0, 0.001, 10.0, 97.0, 0.001, 10.0)
    winner_group = ScanGroup(winner_market, True, 50.0, 1.0, 0.001, 10.0, None, 0.001, 10.0)
    cycles = _array([50, 150, 250])
    # at 150 the winner is at 50.30 (its tick before is 50.00): not enough; at 250: 50.40
    assert first_possible_offset([loser_group, winner_group], cycles, 0, 1_000) == 250
    assert first_possible_offset([loser_group, winner_group], cycles, 0, 250) is None
    without_loser = ScanGroup(loser_market, True, 100.0, 1.0, 0.001, 10.0, None, 0.001, 10.0)
    assert first_possible_offset([without_loser, winner_group], cycles, 0, 1_000) is None
