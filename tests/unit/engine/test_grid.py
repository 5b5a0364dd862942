"""engine.grid: the DCA grid of one pyramid (SPEC §4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain import PositionSide, Reason
from engine.grid import check_legs, plan_dca_legs, plan_leg0, tp_price, validate_pyramid
from engine.math_checks import InvalidInput
from tests.kit.math_builders import D, Level, btcusdt_rules, rules, seed_levels

LONG = PositionSide.LONG
SHORT = PositionSide.SHORT
# SPEC §4: order_size 0.001 contracts at 95992.3 -> C = 0.001 × 95992.3 = 95.9923
CAPITAL = D("95.9923")
ENTRY = D("95992.3")


class TestWorkedExample:
    """SPEC §4 worked example, to the last digit."""

    def test_leg0_market(self) -> None:
        leg = plan_leg0(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules(), "market")
        assert leg.index == 0
        assert leg.price is None and leg.is_market
        # 95.9923 × 20 / 100 = 19.19846; / 95992.3 = 0.0002 exactly -> 0.00020
        assert leg.quantity == D("0.00020")
        assert str(leg.quantity) == "0.00020"
        assert leg.reference_price == ENTRY
        # notional 0.00020 × 95992.3 = 19.19846
        assert leg.notional == D("19.19846")

    def test_leg0_tp(self) -> None:
        # 95992.30 × 1.01 = 96952.223 -> down to 0.01 = 96952.22
        assert tp_price(D("95992.30"), D("1"), LONG, btcusdt_rules()) == D("96952.22")

    def test_dca_legs(self) -> None:
        legs = plan_dca_legs(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules())
        assert [leg.index for leg in legs] == [1, 2]
        leg1, leg2 = legs
        # leg 1: 95992.3 × (1 − 0.5/100) = 95992.3 × 0.995 = 95512.3385 -> 95512.33
        assert leg1.price == D("95512.33")
        # 95.9923 × 30 / 100 = 28.79769; / 95512.33 = 0.00030150... -> 0.00030
        assert leg1.quantity == D("0.00030")
        # leg 2: 95992.3 × 0.99 = 95032.377 -> 95032.37
        assert leg2.price == D("95032.37")
        # 95.9923 × 50 / 100 = 47.996150; / 95032.37 = 0.00050505... -> 0.00050
        assert leg2.quantity == D("0.00050")
        assert str(leg2.price) == "95032.37" and str(leg2.quantity) == "0.00050"

    def test_dca_tps(self) -> None:
        r = btcusdt_rules()
        # 95512.33 × 1.01 = 96467.4533 -> 96467.45
        assert tp_price(D("95512.33"), D("1"), LONG, r) == D("96467.45")
        # 95032.37 × 1.02 = 96933.0174 -> 96933.01
        assert tp_price(D("95032.37"), D("2"), LONG, r) == D("96933.01")

    def test_all_filled_quantity_and_average(self) -> None:
        leg0 = plan_leg0(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules(), "market")
        legs = (leg0, *plan_dca_legs(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules()))
        total = sum((leg.quantity for leg in legs), D("0"))
        # 0.00020 + 0.00030 + 0.00050 = 0.00100
        assert total == D("0.00100")
        # fills at 95992.3, 95512.33, 95032.37:
        # 19.19846 + 28.653699 + 47.516185 = 95.368344; / 0.00100 = 95368.344
        cost = sum((leg.quantity * leg.sizing_price for leg in legs), D("0"))
        assert cost / total == D("95368.344")

    def test_worked_example_passes_validation(self) -> None:
        assert (
            validate_pyramid(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules(), "market") is None
        )


class TestLeg0:
    def test_limit_at_entry_rounded_down_to_tick(self) -> None:
        leg = plan_leg0(CAPITAL, seed_levels(), D("95992.309"), LONG, btcusdt_rules(), "limit")
        # 95992.309 -> 95992.30
        assert leg.price == D("95992.30")
        # 19.19846 / 95992.30 = 0.0002 -> 0.00020
        assert leg.quantity == D("0.00020")

    def test_non_zero_first_gap_is_a_limit_even_for_market(self) -> None:
        levels = (Level(D("-0.5"), D("100"), D("1")),)
        leg = plan_leg0(D("100"), levels, D("200"), LONG, btcusdt_rules(), "market")
        # 200 × 0.995 = 199.00; 100 × 100/100 / 199 = 0.50251256... -> 0.50251
        assert leg.price == D("199.00")
        assert leg.quantity == D("0.50251")

    def test_non_zero_first_gap_short(self) -> None:
        levels = (Level(D("-0.5"), D("100"), D("1")),)
        leg = plan_leg0(D("100"), levels, D("200"), SHORT, btcusdt_rules(), "limit")
        # short: 200 × (1 + 0.5/100) = 201.00; 100 / 201 = 0.49751243... -> 0.49751
        assert leg.price == D("201.00")
        assert leg.quantity == D("0.49751")

    def test_unknown_entry_order_type(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            plan_leg0(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules(), "stop")
        assert (caught.value.field, caught.value.code) == ("entry_order_type", "unknown_value")

    def test_capital_must_be_positive(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            plan_leg0(D("0"), seed_levels(), ENTRY, LONG, btcusdt_rules(), "market")
        assert (caught.value.field, caught.value.code) == ("capital", "not_positive")

    def test_empty_levels(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            plan_leg0(CAPITAL, (), ENTRY, LONG, btcusdt_rules(), "market")
        assert (caught.value.field, caught.value.code) == ("levels", "empty")

    def test_negative_weight(self) -> None:
        levels = (Level(D("0"), D("-20"), D("1")),)
        with pytest.raises(InvalidInput) as caught:
            plan_leg0(CAPITAL, levels, ENTRY, LONG, btcusdt_rules(), "market")
        assert caught.value.field == "levels[0].weight_percent"

    def test_missing_rules_field(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            plan_leg0(CAPITAL, seed_levels(), ENTRY, LONG, rules(step=None), "market")
        assert caught.value.field == "rules.step_size"


class TestDcaLegs:
    def test_short_legs_rest_above(self) -> None:
        legs = plan_dca_legs(CAPITAL, seed_levels(), ENTRY, SHORT, btcusdt_rules())
        # leg 1: 95992.3 × (1 + 0.5/100) = 96472.2615 -> 96472.26
        #        28.79769 / 96472.26 = 0.00029850... -> 0.00029
        # leg 2: 95992.3 × 1.01 = 96952.223 -> 96952.22
        #        47.99615 / 96952.22 = 0.00049504... -> 0.00049
        assert [(leg.price, leg.quantity) for leg in legs] == [
            (D("96472.26"), D("0.00029")),
            (D("96952.22"), D("0.00049")),
        ]

    def test_short_tp_below_fill(self) -> None:
        # 95992.30 × (1 − 1/100) = 95032.377 -> 95032.37
        assert tp_price(D("95992.30"), D("1"), SHORT, btcusdt_rules()) == D("95032.37")

    def test_single_level_grid_has_no_dca_legs(self) -> None:
        levels = (Level(D("0"), D("100"), D("1")),)
        assert plan_dca_legs(CAPITAL, levels, ENTRY, LONG, btcusdt_rules()) == ()

    def test_gap_that_zeroes_the_price_is_refused(self) -> None:
        levels = (Level(D("0"), D("50"), D("1")), Level(D("-100"), D("50"), D("1")))
        with pytest.raises(InvalidInput) as caught:
            plan_dca_legs(CAPITAL, levels, ENTRY, LONG, btcusdt_rules())
        assert (caught.value.field, caught.value.code) == (
            "levels[1].gap_percent",
            "price_not_positive",
        )


class TestValidatePyramid:
    def test_leg0_below_min_notional(self) -> None:
        # C = 20: leg 0 = 20 × 20/100 = 4; 4 / 95992.3 = 0.0000416... -> 0.00004
        # notional 0.00004 × 95992.3 = 3.839692 < 5
        rejection = validate_pyramid(D("20"), seed_levels(), ENTRY, LONG, btcusdt_rules(), "market")
        assert rejection is not None
        assert rejection.reason is Reason.BELOW_MIN_NOTIONAL
        assert rejection.leg_index == 0
        assert "3.839692" in rejection.message

    def test_below_min_qty_checked_first(self) -> None:
        # min_qty 0.001: leg 0 qty 0.00020 < 0.001
        rejection = validate_pyramid(
            CAPITAL, seed_levels(), ENTRY, LONG, rules(min_qty="0.001"), "market"
        )
        assert rejection is not None
        assert (rejection.reason, rejection.leg_index) == (Reason.BELOW_MIN_QTY, 0)

    def test_later_leg_rejects_the_whole_pyramid(self) -> None:
        levels = (
            Level(D("0"), D("80"), D("1")),
            Level(D("-0.5"), D("10"), D("1")),
            Level(D("-1"), D("10"), D("2")),
        )
        # C = 40: leg 0 = 32 / 95992.3 = 0.000333... -> 0.00033, notional 31.677459 >= 5
        # leg 1 = 4 / 95512.33 = 0.0000418... -> 0.00004, notional 3.8204932 < 5
        rejection = validate_pyramid(D("40"), levels, ENTRY, LONG, btcusdt_rules(), "market")
        assert rejection is not None
        assert (rejection.reason, rejection.leg_index) == (Reason.BELOW_MIN_NOTIONAL, 1)

    def test_zero_weight_leg_is_below_min_qty(self) -> None:
        levels = (Level(D("0"), D("100"), D("1")), Level(D("-1"), D("0"), D("1")))
        rejection = validate_pyramid(CAPITAL, levels, ENTRY, LONG, btcusdt_rules(), "market")
        assert rejection is not None
        assert (rejection.reason, rejection.leg_index) == (Reason.BELOW_MIN_QTY, 1)

    def test_check_legs_ok(self) -> None:
        legs = plan_dca_legs(CAPITAL, seed_levels(), ENTRY, LONG, btcusdt_rules())
        assert check_legs(legs, btcusdt_rules()) is None


_PERCENT = st.decimals(min_value=D("-20"), max_value=D("0"), places=2)


@given(
    capital=st.decimals(min_value=D("10"), max_value=D("100000"), places=2),
    fill=st.decimals(min_value=D("0.01"), max_value=D("200000"), places=2),
    gaps=st.lists(_PERCENT, min_size=1, max_size=5),
    side=st.sampled_from([LONG, SHORT]),
)
def test_dca_rounding_property(
    capital: Decimal, fill: Decimal, gaps: list[Decimal], side: PositionSide
) -> None:
    tick, step = D("0.01"), D("0.00001")
    weight = D("100") / (len(gaps) + 1)
    levels = [Level(D("0"), weight, D("1"))] + [Level(g, weight, D("1")) for g in gaps]
    try:
        legs = plan_dca_legs(capital, levels, fill, side, btcusdt_rules())
    except InvalidInput as error:
        # only a price that rounds to 0 may be refused
        assert error.code == "price_not_positive"
        return
    for leg, gap in zip(legs, gaps, strict=True):
        exact = fill * (1 + (1 if side is LONG else -1) * gap / 100)
        assert leg.price is not None
        assert leg.price % tick == 0 and leg.price <= exact < leg.price + tick
        budget = capital * weight / 100
        # rounded down to the step: fits the budget, one more step does not
        assert leg.quantity % step == 0
        assert leg.quantity * leg.price <= budget < (leg.quantity + step) * leg.price


def test_accepts_the_config_grid_level() -> None:
    from engine.config import GridLevel

    levels = [
        GridLevel(gap_percent=D("0"), weight_percent=D("20"), tp_percent=D("1")),
        GridLevel(gap_percent=D("-0.5"), weight_percent=D("30"), tp_percent=D("1")),
        GridLevel(gap_percent=D("-1"), weight_percent=D("50"), tp_percent=D("2")),
    ]
    legs = plan_dca_legs(CAPITAL, levels, ENTRY, LONG, btcusdt_rules())
    # same numbers as the worked example: 95512.33 / 0.00030 and 95032.37 / 0.00050
    assert [(leg.price, leg.quantity) for leg in legs] == [
        (D("95512.33"), D("0.00030")),
        (D("95032.37"), D("0.00050")),
    ]
