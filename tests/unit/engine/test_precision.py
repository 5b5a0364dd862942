"""engine.precision: rounding to tick/step, rules resolution, exchange minimums (SPEC §5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain import Reason
from engine.math_checks import InvalidInput
from engine.precision import (
    RulesStatus,
    ceil_quotient,
    check_minimums,
    floor_quotient,
    resolve_rules,
    round_price,
    round_quantity,
)
from tests.kit.math_builders import D, Fallback, btcusdt_rules, rules


class TestRounding:
    def test_price_rounds_down_to_tick(self) -> None:
        # 95992.3 × 0.995 = 95512.3385 -> floor to 0.01 = 95512.33
        assert round_price(D("95512.3385"), btcusdt_rules()) == D("95512.33")

    def test_price_already_on_tick_is_quantized(self) -> None:
        result = round_price(D("95992.3"), btcusdt_rules())
        assert result == D("95992.30")
        assert str(result) == "95992.30"  # two decimals, the tick's exponent

    def test_quantity_rounds_down_to_step(self) -> None:
        # 28.79769 / 95512.33 = 0.000301509... -> floor to 0.00001 = 0.00030
        result = round_quantity(D("0.000301509"), btcusdt_rules())
        assert result == D("0.0003")
        assert str(result) == "0.00030"

    def test_quantity_with_integer_step(self) -> None:
        assert round_quantity(D("1234.9"), rules(step="1", tick="0.0001")) == D("1234")

    def test_quantity_with_step_not_power_of_ten(self) -> None:
        # step 0.5: 7.9 -> 7.5
        assert round_quantity(D("7.9"), rules(step="0.5")) == D("7.5")

    def test_zero_quantity_stays_zero(self) -> None:
        assert round_quantity(D("0"), btcusdt_rules()) == 0

    def test_negative_price_is_refused_with_field(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            round_price(D("-1"), btcusdt_rules())
        assert caught.value.field == "price"
        assert caught.value.code == "not_positive"

    def test_negative_quantity_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            round_quantity(D("-0.1"), btcusdt_rules())
        assert (caught.value.field, caught.value.code) == ("quantity", "negative")

    def test_float_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            round_price(1.5, btcusdt_rules())  # type: ignore[arg-type]
        assert caught.value.code == "not_decimal"

    def test_missing_tick_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            round_price(D("10"), rules(tick=None))
        assert (caught.value.field, caught.value.code) == ("rules.tick_size", "missing")

    @given(
        value=st.decimals(min_value=D("0.00000001"), max_value=D("1000000"), places=8),
        step_exp=st.integers(min_value=-8, max_value=2),
    )
    def test_round_quantity_property(self, value: Decimal, step_exp: int) -> None:
        step = Decimal(1).scaleb(step_exp)
        result = round_quantity(value, rules(step=str(step)))
        # independent check: result is a multiple of step, <= value, and within one step
        assert result % step == 0
        assert result <= value < result + step


class TestResolveRules:
    def test_unknown_symbol(self) -> None:
        result = resolve_rules(None, Fallback(), block_on_missing=True)
        assert result.status is RulesStatus.UNKNOWN
        assert str(result.status) == "unknown"
        assert result.rules is None
        assert result.missing == ()

    def test_complete_rules_are_ok(self) -> None:
        complete = btcusdt_rules()
        result = resolve_rules(complete, Fallback(), block_on_missing=True)
        assert result.status == "ok"
        assert result.rules is complete
        assert result.missing == ()

    def test_incomplete_and_blocking(self) -> None:
        result = resolve_rules(
            rules(step=None, min_notional=None), Fallback(), block_on_missing=True
        )
        assert result.status == "blocked"
        assert result.rules is None
        assert result.missing == ("step_size", "min_notional")

    def test_incomplete_uses_fallback_fields_only(self) -> None:
        fallback = Fallback(
            tick_size=D("0.00000001"),
            step_size=D("0.000001"),
            min_qty=D("0.000001"),
            min_notional=D("1"),
        )
        result = resolve_rules(
            rules(step=None, min_notional=None), fallback, block_on_missing=False
        )
        assert result.status == "fallback"
        assert result.missing == ("step_size", "min_notional")
        assert result.rules is not None
        # present fields kept, missing ones from the fallback
        assert result.rules.tick_size == D("0.01")
        assert result.rules.min_qty == D("0.00001")
        assert result.rules.step_size == D("0.000001")
        assert result.rules.min_notional == D("1")
        assert result.rules.is_complete

    def test_zero_tick_counts_as_missing(self) -> None:
        result = resolve_rules(rules(tick="0"), Fallback(), block_on_missing=False)
        assert result.status == "fallback"
        assert result.missing == ("tick_size",)
        assert result.rules is not None and result.rules.tick_size == D("0.00000001")

    def test_zero_min_notional_is_a_valid_value(self) -> None:
        result = resolve_rules(rules(min_notional="0"), Fallback(), block_on_missing=True)
        assert result.status == "ok"

    def test_bad_fallback_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            resolve_rules(rules(tick=None), Fallback(tick_size=D("0")), block_on_missing=False)
        assert caught.value.field == "fallback_rules.tick_size"


class TestMinimums:
    def test_ok(self) -> None:
        # 0.00020 × 95992.30 = 19.19846 >= 5, and 0.00020 >= 0.00001
        assert check_minimums(D("0.00020"), D("95992.30"), btcusdt_rules()) is None

    def test_zero_quantity_is_below_min_qty(self) -> None:
        assert check_minimums(D("0"), D("100"), rules(min_qty="0")) == Reason.BELOW_MIN_QTY

    def test_below_min_qty(self) -> None:
        assert check_minimums(D("0.000009"), D("95992.30"), btcusdt_rules()) == Reason.BELOW_MIN_QTY

    def test_min_qty_checked_before_notional(self) -> None:
        # both broken: 0.000001 < 0.00001 and 0.000001 × 10 = 0.00001 < 5
        assert check_minimums(D("0.000001"), D("10"), btcusdt_rules()) == Reason.BELOW_MIN_QTY

    def test_below_min_notional(self) -> None:
        # 0.00005 × 95992.30 = 4.799615 < 5
        assert (
            check_minimums(D("0.00005"), D("95992.30"), btcusdt_rules())
            == Reason.BELOW_MIN_NOTIONAL
        )

    def test_exactly_min_notional_passes(self) -> None:
        # 0.5 × 10 = 5 == min notional: not below
        assert check_minimums(D("0.5"), D("10"), btcusdt_rules()) is None


class TestQuotients:
    def test_floor_quotient(self) -> None:
        # 28.79769 / 95512.33 = 0.00030150... -> 0.00030
        assert floor_quotient(D("28.79769"), D("95512.33"), D("0.00001")) == D("0.00030")

    def test_floor_quotient_exact_division_keeps_the_step(self) -> None:
        # 19.19846 / 95992.3 = 0.0002 exactly
        assert floor_quotient(D("19.19846"), D("95992.3"), D("0.00001")) == D("0.00020")

    def test_ceil_quotient(self) -> None:
        # 10 / 3 = 3.333... -> up to 0.01 = 3.34
        assert ceil_quotient(D("10"), D("3"), D("0.01")) == D("3.34")

    def test_ceil_quotient_exact(self) -> None:
        assert ceil_quotient(D("9"), D("3"), D("0.01")) == D("3.00")

    def test_denominator_must_be_positive(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            floor_quotient(D("1"), D("0"), D("0.01"))
        assert caught.value.field == "denominator"

    @given(
        numerator=st.decimals(min_value=D("0"), max_value=D("1000000"), places=6),
        denominator=st.decimals(min_value=D("0.000001"), max_value=D("1000000"), places=6),
    )
    def test_quotients_bracket_the_exact_ratio(
        self, numerator: Decimal, denominator: Decimal
    ) -> None:
        step = D("0.00001")
        low = floor_quotient(numerator, denominator, step)
        high = ceil_quotient(numerator, denominator, step)
        # independent check by multiplication (exact in Decimal)
        assert low * denominator <= numerator < (low + step) * denominator
        assert (high - step) * denominator < numerator <= high * denominator


def test_config_fallback_rules_fill_missing_metadata() -> None:
    from engine.config import FallbackRules

    result = resolve_rules(rules(tick=None, step=None), FallbackRules(), block_on_missing=False)
    assert result.status == "fallback" and result.rules is not None
    # SPEC §3 defaults: tick 1e-8, step 1e-6
    assert round_price(D("1.123456789"), result.rules) == D("1.12345678")
    assert round_quantity(D("2.0000019"), result.rules) == D("2.000001")


def test_non_finite_price_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        round_price(Decimal("NaN"), btcusdt_rules())
    assert (caught.value.field, caught.value.code) == ("price", "not_finite")
