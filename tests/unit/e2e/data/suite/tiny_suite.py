"""Binds the tiny feature folders of tests/unit/e2e/data/ (features/ and failing/); run by
``qtrade run --tests`` in tests/integration/test_qtrade_run.py, never collected by the main
suite (the file name does not match ``test_*.py``). Steps live here so the folder needs no
conftest of its own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pytest_bdd import given, parsers, scenarios, then

from engine.domain import normalise_symbol
from qtrade.e2e.prices import MarketInfo, leg_sizes

scenarios("phase1", "phase2")

SEED_GRID = [
    {"gap_percent": Decimal(0), "weight_percent": Decimal(20)},
    {"gap_percent": Decimal("-0.5"), "weight_percent": Decimal(30)},
    {"gap_percent": Decimal(-1), "weight_percent": Decimal(50)},
]
BTCUSDT = MarketInfo("BTCUSDT", Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal(5))


@given(
    parsers.parse("a {capital:d} USDT long at {price} on the seed grid with BTCUSDT's filters"),
    target_fixture="legs",
)
def legs_of(capital: int, price: str) -> list[tuple[Decimal, Decimal]]:
    sizes = leg_sizes(Decimal(capital), Decimal(price), "long", SEED_GRID, BTCUSDT)
    return [(leg.quantity, leg.price) for leg in sizes]


@then(parsers.parse("leg {index:d} buys {quantity} at {price}"))
def leg_is(legs: list[tuple[Decimal, Decimal]], index: int, quantity: str, price: str) -> None:
    assert legs[index] == (Decimal(quantity), Decimal(price)), f"leg {index}: {legs[index]}"


@given("a backend without testnet keys")
def no_keys() -> None:
    pytest.skip("testnet keys are not set")


@given(parsers.parse('the symbol "{symbol}" on {exchange}'), target_fixture="market")
def symbol_on(symbol: str, exchange: str) -> str:
    return normalise_symbol(symbol)


@then(parsers.parse("it is the market {name}"))
def market_is(market: str, name: str) -> None:
    assert market == name
