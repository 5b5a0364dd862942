"""engine.takeprofit: aggregate targets, stops, unrealised PnL (SPEC §6.2–6.4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain import PositionSide
from engine.math_checks import InvalidInput
from engine.takeprofit import (
    aggregate_target,
    price_reached_target,
    stop_price_from_percent,
    stop_triggered,
    unrealised_percent,
    unrealised_usd,
)
from tests.kit.math_builders import D, btcusdt_rules

LONG = PositionSide.LONG
SHORT = PositionSide.SHORT


class TestAggregateTarget:
    def test_long(self) -> None:
        # worked-example average 95368.344 × (1 + 1.5/100) = 96798.86916 -> 96798.86
        assert aggregate_target(D("95368.344"), D("1.5"), LONG, btcusdt_rules()) == D("96798.86")

    def test_short(self) -> None:
        # 95368.344 × (1 − 1.5/100) = 93937.81884 -> 93937.81
        assert aggregate_target(D("95368.344"), D("1.5"), SHORT, btcusdt_rules()) == D("93937.81")

    def test_negative_percent_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            aggregate_target(D("100"), D("-1"), LONG, btcusdt_rules())
        assert (caught.value.field, caught.value.code) == ("tp_aggregate_percent", "negative")

    def test_reached_long(self) -> None:
        assert price_reached_target(D("100"), D("100"), LONG)
        assert price_reached_target(D("100.01"), D("100"), LONG)
        assert not price_reached_target(D("99.99"), D("100"), LONG)

    def test_reached_short(self) -> None:
        assert price_reached_target(D("100"), D("100"), SHORT)
        assert price_reached_target(D("99.99"), D("100"), SHORT)
        assert not price_reached_target(D("100.01"), D("100"), SHORT)


class TestStop:
    def test_long_stop_below_average(self) -> None:
        # 200 × (1 − 5/100) = 190
        assert stop_price_from_percent(D("200"), D("5"), LONG) == D("190")

    def test_short_stop_above_average(self) -> None:
        # 200 × (1 + 5/100) = 210
        assert stop_price_from_percent(D("200"), D("5"), SHORT) == D("210")

    def test_stop_percent_is_not_rounded(self) -> None:
        # 95368.344 × 0.97 = 92507.29368 (a trigger level, not an order price)
        assert stop_price_from_percent(D("95368.344"), D("3"), LONG) == D("92507.29368")

    @pytest.mark.parametrize("percent", ["0", "-5"])
    def test_non_positive_percent_refused(self, percent: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            stop_price_from_percent(D("200"), D(percent), LONG)
        assert (caught.value.field, caught.value.code) == ("stop_loss_percent", "not_positive")

    def test_long_stop_of_100_percent_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            stop_price_from_percent(D("200"), D("100"), LONG)
        assert caught.value.code == "too_large"

    def test_triggered_long(self) -> None:
        assert stop_triggered(D("190"), D("190"), LONG)
        assert stop_triggered(D("189"), D("190"), LONG)
        assert not stop_triggered(D("190.01"), D("190"), LONG)

    def test_triggered_short(self) -> None:
        assert stop_triggered(D("210"), D("210"), SHORT)
        assert stop_triggered(D("211"), D("210"), SHORT)
        assert not stop_triggered(D("209.99"), D("210"), SHORT)


class TestUnrealised:
    def test_long_loss(self) -> None:
        # (92507.29 − 95368.344) × 0.001 = −2.861054
        assert unrealised_usd(D("95368.344"), D("92507.29"), D("0.001"), LONG) == D("-2.861054")

    def test_short_profit(self) -> None:
        # (190 − 200) × 2 × −1 = 20
        assert unrealised_usd(D("200"), D("190"), D("2"), SHORT) == D("20")

    def test_percent_long(self) -> None:
        # (190 − 200) / 200 × 100 = −5
        assert unrealised_percent(D("200"), D("190"), LONG) == D("-5")

    def test_percent_short(self) -> None:
        # short: −(190 − 200) / 200 × 100 = 5
        assert unrealised_percent(D("200"), D("190"), SHORT) == D("5")

    def test_zero_quantity(self) -> None:
        assert unrealised_usd(D("200"), D("190"), D("0"), LONG) == 0

    def test_bad_average(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            unrealised_percent(D("0"), D("190"), LONG)
        assert caught.value.field == "average"

    @given(
        average=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
        mark=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
        quantity=st.decimals(min_value=D("0.001"), max_value=D("1000"), places=3),
        side=st.sampled_from([LONG, SHORT]),
    )
    def test_percent_matches_usd_over_cost(
        self, average: Decimal, mark: Decimal, quantity: Decimal, side: PositionSide
    ) -> None:
        usd = unrealised_usd(average, mark, quantity, side)
        # SPEC §6.2: % = usd / (average × quantity) × 100 (independent formula)
        expected = usd / (average * quantity) * 100
        # both sides are rounded to 28 significant digits: compare relatively
        tolerance = abs(expected) * D("1e-25") + D("1e-25")
        assert abs(unrealised_percent(average, mark, side) - expected) <= tolerance
        # the short's PnL is the long's mirrored
        mirrored = unrealised_usd(average, mark, quantity, SHORT if side is LONG else LONG)
        assert usd == -mirrored
