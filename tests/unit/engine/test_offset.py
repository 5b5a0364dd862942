"""engine.offset: the risk engine's offset maths (SPEC §9). Every figure worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain import PositionSide
from engine.math_checks import InvalidInput
from engine.offset import OffsetPosition, WinnerClose, plan_offset
from tests.kit.math_builders import D

LONG = PositionSide.LONG
SHORT = PositionSide.SHORT
MIN_CLOSE = D("10")  # risk_config.min_close_notional default


def pos(
    group_id: str,
    *,
    side: PositionSide = LONG,
    qty: str,
    avg: str,
    mark: str,
    step: str = "0.001",
    min_qty: str = "0.001",
    fee: str = "0",
) -> OffsetPosition:
    return OffsetPosition(
        group_id=group_id,
        side=side,
        open_quantity=D(qty),
        average_price=D(avg),
        mark_price=D(mark),
        step_size=D(step),
        min_qty=D(min_qty),
        fee_rate=D(fee),
    )


# loser used by most cases: long 1.000 @ 100, mark 90 -> unrealised (90 − 100) × 1 = −10
def loser(
    fee: str = "0",
    *,
    qty: str = "1",
    mark: str = "90",
    step: str = "0.001",
    min_qty: str = "0.001",
) -> OffsetPosition:
    return pos("L", qty=qty, avg="100", mark=mark, step=step, min_qty=min_qty, fee=fee)


class TestSpecCases:
    def test_loser_partly_closed_when_winners_cover_less(self) -> None:
        # winner long 2 @ 50, mark 52: unrealised (52 − 50) × 2 = 4
        winner = pos("W", qty="2", avg="50", mark="52")
        plan = plan_offset(
            loser(), [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # required 10, available 4, covered 4 -> loser closes 4/10 of 1.000 = 0.400
        assert (plan.required_usd, plan.available_usd, plan.covered_usd) == (D(10), D(4), D(4))
        assert plan.loser_close_quantity == D("0.400")
        # loser realises (90 − 100) × 0.4 = −4 (no fee)
        assert plan.loser_realised_usd == D("-4")
        # winner needs 4 / 2 per unit = 2.000: its whole position (SPEC: fully closed)
        assert plan.winner_closes == (WinnerClose("W", D("2.000"), D("4")),)
        assert plan.net_usd == 0
        assert plan.loser_group_id == "L"

    def test_winner_partly_closed_and_loser_fully_closed_when_they_cover_more(self) -> None:
        # fees 0.1 %: loser cost per unit = 10 + 90 × 0.001 = 10.09
        # winner long 10 @ 50, mark 55: unrealised 50; gain per unit = 5 − 55 × 0.001 = 4.945
        winner = pos("W", qty="10", avg="50", mark="55", fee="0.001")
        plan = plan_offset(
            loser(fee="0.001"), [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # required 10, available 50 -> covered 10 = required: the whole loser closes
        assert plan.covered_usd == D(10)
        assert plan.loser_close_quantity == D("1.000")
        # loser realised = −(1 × 10.09) = −10.09
        assert plan.loser_realised_usd == D("-10.09")
        # winner: 10.09 / 4.945 = 2.04044... -> up to 0.001 = 2.041
        # realised 2.041 × 4.945 = 10.092745 (2.040 × 4.945 = 10.0878 would fall short)
        assert plan.winner_closes == (WinnerClose("W", D("2.041"), D("10.092745")),)
        # net 10.092745 − 10.09 = 0.002745
        assert plan.net_usd == D("0.002745")


class TestCombinationsAndShrinking:
    def test_three_winners_combined_for_a_short_loser(self) -> None:
        # loser short 2 @ 100, mark 110: (110 − 100) × 2 × −1 = −20
        short_loser = pos("L", side=SHORT, qty="2", avg="100", mark="110", step="0.01")
        winners = [
            # long 1 @ 200, mark 208: +8, 8 per unit
            pos("W1", qty="1", avg="200", mark="208", step="0.01"),
            # short 3 @ 50, mark 48: (48 − 50) × 3 × −1 = +6, 2 per unit
            pos("W2", side=SHORT, qty="3", avg="50", mark="48", step="0.01"),
            # long 10 @ 10, mark 11: +10, 1 per unit
            pos("W3", qty="10", avg="10", mark="11", step="0.1", min_qty="0.1"),
        ]
        plan = plan_offset(
            short_loser, winners, partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # required 20, available 8 + 6 + 10 = 24, covered 20: loser closes fully (2.00)
        assert (plan.required_usd, plan.available_usd) == (D(20), D(24))
        assert plan.loser_close_quantity == D("2.00")
        # need 20: W1 wants 20/8 = 2.5, capped at 1.00 -> 8, still need 12
        #          W2 wants 12/2 = 6, capped at 3.00 -> 6, still need 6
        #          W3 6/1 = 6.0 (notional 6 × 11 = 66 >= 10) -> 6
        assert plan.winner_closes == (
            WinnerClose("W1", D("1.00"), D("8")),
            WinnerClose("W2", D("3.00"), D("6")),
            WinnerClose("W3", D("6.0"), D("6")),
        )
        assert plan.loser_realised_usd == D("-20")
        assert plan.net_usd == 0

    def test_fees_shrink_the_loser(self) -> None:
        # as the first SPEC case but with 0.1 % fees:
        # loser cost per unit 10 + 90 × 0.001 = 10.09
        # winner gain per unit 2 − 52 × 0.001 = 1.948, capacity 2 × 1.948 = 3.896
        winner = pos("W", qty="2", avg="50", mark="52", fee="0.001")
        plan = plan_offset(
            loser(fee="0.001"), [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # fraction would give 0.400; winners pay for 3.896 / 10.09 = 0.38612... -> 0.386
        assert plan.loser_close_quantity == D("0.386")
        # loser: −0.386 × 10.09 = −3.89474
        assert plan.loser_realised_usd == D("-3.89474")
        # winner: 3.89474 / 1.948 = 1.99935... -> 2.000 (all of it), realised 3.896
        assert plan.winner_closes == (WinnerClose("W", D("2.000"), D("3.896")),)
        # net 3.896 − 3.89474 = 0.00126
        assert plan.net_usd == D("0.00126")

    def test_winner_step_rounding_shrinks_the_loser(self) -> None:
        fine_loser = loser(step="0.00001", min_qty="0.00001")
        # winner long 2.05 @ 50, mark 52, step 0.1: unrealised 2 × 2.05 = 4.1, but only 2.0
        # can be sent (2.05 down to the step), worth 2 × 2.0 = 4.0
        winner = pos("W", qty="2.05", avg="50", mark="52", step="0.1", min_qty="0.1")
        plan = plan_offset(
            fine_loser, [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # fraction: 1 × 4.1 / 10 = 0.41000; winners pay for 4.0 / 10 = 0.40000
        assert plan.covered_usd == D("4.1")
        assert plan.loser_close_quantity == D("0.40000")
        assert plan.winner_closes == (WinnerClose("W", D("2.0"), D("4.0")),)
        assert plan.net_usd == 0

    def test_winner_below_min_close_notional_is_skipped(self) -> None:
        winners = [
            # long 0.1 @ 50, mark 60: +1, but its whole notional 0.1 × 60 = 6 < 10: skipped
            pos("W1", qty="0.1", avg="50", mark="60"),
            # long 5 @ 20, mark 22: +10, 2 per unit
            pos("W2", qty="5", avg="20", mark="22"),
        ]
        plan = plan_offset(
            loser(), winners, partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # available 1 + 10 = 11 >= required 10: loser closes fully; W2 pays 10 / 2 = 5.000
        assert plan.available_usd == D(11)
        assert plan.loser_close_quantity == D("1.000")
        assert plan.winner_closes == (WinnerClose("W2", D("5.000"), D("10")),)
        assert plan.net_usd == 0

    def test_small_winner_need_is_raised_to_min_close_notional(self) -> None:
        # loser long 1 @ 100, mark 99: −1
        small_loser = loser(mark="99")
        # winner long 10 @ 50, mark 60: 10 per unit; needs 1 / 10 = 0.100 (notional 6 < 10)
        winner = pos("W", qty="10", avg="50", mark="60")
        plan = plan_offset(
            small_loser, [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        assert plan.loser_close_quantity == D("1.000")
        # raised to 10 / 60 = 0.1666... -> 0.167 (notional 10.02); realised 0.167 × 10 = 1.67
        assert plan.winner_closes == (WinnerClose("W", D("0.167"), D("1.67")),)
        # net 1.67 − 1 = 0.67
        assert plan.net_usd == D("0.67")

    def test_loser_close_below_min_close_notional_means_no_offset(self) -> None:
        # loser 0.1 @ 100, mark 90: −1; its whole close is 0.1 × 90 = 9 < 10
        tiny_loser = loser(qty="0.1")
        winner = pos("W", qty="10", avg="50", mark="55")
        assert (
            plan_offset(
                tiny_loser, [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
            )
            is None
        )

    def test_loser_fraction_rounding_to_zero_means_no_offset(self) -> None:
        coarse_loser = loser(step="0.1", min_qty="0.1")
        # winner long 1 @ 50, mark 50.5: +0.5 -> fraction 0.5 / 10 × 1 = 0.05 -> 0.0
        winner = pos("W", qty="1", avg="50", mark="50.5")
        assert (
            plan_offset(coarse_loser, [winner], partial_close_enabled=True, min_close_notional=D(0))
            is None
        )

    def test_no_profitable_winner_means_no_offset(self) -> None:
        # long 1 @ 50, mark 49: a loss, not a winner
        not_winner = pos("W", qty="1", avg="50", mark="49")
        assert (
            plan_offset(
                loser(), [not_winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE
            )
            is None
        )
        assert (
            plan_offset(loser(), [], partial_close_enabled=True, min_close_notional=MIN_CLOSE)
            is None
        )

    def test_winner_eaten_by_fees_is_not_closed(self) -> None:
        # W1 long 100 @ 10, mark 10.01: +1 gross, but gain per unit 0.01 − 10.01 × 0.001 =
        # −0.00001 after fees: not used. W2 long 5 @ 20, mark 22: 2 per unit, +10.
        winners = [
            pos("W1", qty="100", avg="10", mark="10.01", fee="0.001"),
            pos("W2", qty="5", avg="20", mark="22"),
        ]
        plan = plan_offset(
            loser(), winners, partial_close_enabled=True, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        # available 1 + 10 = 11 -> full loser (1.000, cost 10); W2 pays with 5.000
        assert [close.group_id for close in plan.winner_closes] == ["W2"]
        assert plan.winner_closes[0].quantity == D("5.000")


class TestWholeGroupsOnly:
    # fee 0.1 %: loser whole close costs 1 × (10 + 90 × 0.001) = 10.09
    def test_winners_close_completely_until_the_loss_is_covered(self) -> None:
        winners = [
            # long 1 @ 100, mark 106: gain per unit 6 − 0.106 = 5.894, whole 5.894
            pos("W1", qty="1", avg="100", mark="106", fee="0.001"),
            # long 2 @ 50, mark 53: gain per unit 3 − 0.053 = 2.947, whole 5.894
            pos("W2", qty="2", avg="50", mark="53", fee="0.001"),
            # long 1 @ 10, mark 20: not needed (5.894 + 5.894 = 11.788 >= 10.09)
            pos("W3", qty="1", avg="10", mark="20", fee="0.001"),
        ]
        plan = plan_offset(
            loser(fee="0.001"), winners, partial_close_enabled=False, min_close_notional=MIN_CLOSE
        )
        assert plan is not None
        assert plan.loser_close_quantity == D("1.000")
        assert plan.loser_realised_usd == D("-10.09")
        assert plan.winner_closes == (
            WinnerClose("W1", D("1.000"), D("5.894")),
            WinnerClose("W2", D("2.000"), D("5.894")),
        )
        # 11.788 − 10.09 = 1.698
        assert plan.net_usd == D("1.698")

    def test_nothing_happens_when_whole_winners_cannot_cover(self) -> None:
        winners = [
            pos("W1", qty="1", avg="100", mark="106", fee="0.001"),  # 5.894
            pos("W2", qty="1", avg="50", mark="53", fee="0.001"),  # 2.947
        ]
        # 5.894 + 2.947 = 8.841 < 10.09
        assert (
            plan_offset(
                loser(fee="0.001"),
                winners,
                partial_close_enabled=False,
                min_close_notional=MIN_CLOSE,
            )
            is None
        )


class TestBadInput:
    def test_loser_not_losing(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            plan_offset(
                loser(mark="100"), [], partial_close_enabled=True, min_close_notional=MIN_CLOSE
            )
        assert (caught.value.field, caught.value.code) == ("loser", "not_losing")

    def test_bad_step(self) -> None:
        winner = pos("W", qty="1", avg="50", mark="60", step="0")
        with pytest.raises(InvalidInput) as caught:
            plan_offset(loser(), [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE)
        assert caught.value.field == "winners[0].step_size"

    def test_loser_listed_as_winner(self) -> None:
        winner = pos("L", qty="1", avg="50", mark="60")
        with pytest.raises(InvalidInput) as caught:
            plan_offset(loser(), [winner], partial_close_enabled=True, min_close_notional=MIN_CLOSE)
        assert (caught.value.field, caught.value.code) == ("winners[0].group_id", "duplicate")

    def test_negative_min_close_notional(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            plan_offset(loser(), [], partial_close_enabled=True, min_close_notional=D("-1"))
        assert caught.value.field == "min_close_notional"


# ----------------------------------------------------------------------- property
_STEPS = [D("1"), D("0.1"), D("0.001"), D("0.00001")]


@st.composite
def _position(draw: st.DrawFn, group_id: str, losing: bool) -> OffsetPosition:
    step = draw(st.sampled_from(_STEPS))
    units = draw(st.integers(min_value=0, max_value=5000))
    dust = draw(st.sampled_from([D(0), step / 4]))  # sometimes not a step multiple
    side = draw(st.sampled_from([LONG, SHORT]))
    average = draw(st.decimals(min_value=D("0.5"), max_value=D("5000"), places=2))
    move = draw(st.decimals(min_value=D("0.01"), max_value=D("30"), places=2)) / 100
    direction = -1 if losing else draw(st.sampled_from([1, 1, 1, -1]))
    mark = average * (1 + direction * side.sign * move)
    return OffsetPosition(
        group_id=group_id,
        side=side,
        open_quantity=units * step + dust,
        average_price=average,
        mark_price=mark,
        step_size=step,
        min_qty=step * draw(st.integers(min_value=1, max_value=3)),
        fee_rate=draw(st.sampled_from([D(0), D("0.001"), D("0.00075")])),
    )


@st.composite
def _cases(draw: st.DrawFn) -> tuple[OffsetPosition, list[OffsetPosition], bool, Decimal]:
    the_loser = draw(_position("L", losing=True).filter(lambda p: p.unrealised_usd < 0))
    count = draw(st.integers(min_value=1, max_value=3))
    winners = [draw(_position(f"W{index}", losing=False)) for index in range(count)]
    partial = draw(st.booleans())
    min_close = draw(st.sampled_from([D(0), D(5), D(10)]))
    return the_loser, winners, partial, min_close


@settings(max_examples=300, deadline=None)
@given(case=_cases())
def test_offset_invariants(
    case: tuple[OffsetPosition, list[OffsetPosition], bool, Decimal],
) -> None:
    the_loser, winners, partial, min_close = case
    plan = plan_offset(
        the_loser, winners, partial_close_enabled=partial, min_close_notional=min_close
    )
    if plan is None:
        return
    by_id = {winner.group_id: winner for winner in winners}
    # loser: a positive multiple of its step, within its open quantity, at least min_close
    q = plan.loser_close_quantity
    assert q > 0 and q % the_loser.step_size == 0 and q <= the_loser.open_quantity
    assert q * the_loser.mark_price >= min_close and q >= the_loser.min_qty
    # independent loser realised: −(|mark − avg| × q + mark × q × fee)
    loss = abs(the_loser.mark_price - the_loser.average_price) * q
    assert plan.loser_realised_usd == -(loss + the_loser.mark_price * q * the_loser.fee_rate)
    total = D(0)
    for close in plan.winner_closes:
        winner = by_id[close.group_id]
        assert close.quantity > 0 and close.quantity % winner.step_size == 0
        assert close.quantity <= winner.open_quantity
        assert close.quantity * winner.mark_price >= min_close
        move = (winner.mark_price - winner.average_price) * (1 if winner.side is LONG else -1)
        fee = winner.mark_price * close.quantity * winner.fee_rate
        assert close.realised_usd == move * close.quantity - fee
        total += close.realised_usd
    assert plan.net_usd == total + plan.loser_realised_usd
    assert plan.net_usd >= 0
    if not partial:
        assert q == round_down_to(the_loser.open_quantity, the_loser.step_size)
        for close in plan.winner_closes:
            winner = by_id[close.group_id]
            assert close.quantity == round_down_to(winner.open_quantity, winner.step_size)


def round_down_to(value: Decimal, step: Decimal) -> Decimal:
    """Independent floor to a step: value − (value mod step)."""
    return value - value % step
