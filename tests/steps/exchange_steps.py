"""Steps that read the exchange's own view ("the exchange shows ..."): the simulator's order
book, fills and balances (GET /admin/orders, /admin/balances), never the engine's records."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from pytest_bdd import given, then

from tests.steps.support import dec, describe, matches_written, step_parser, table_rows
from tests.steps.world import World

__all__ = ["average_fill", "is_open", "is_filled"]

OPEN = ("NEW", "PARTIALLY_FILLED")


def is_open(order: dict[str, Any]) -> bool:
    return str(order["status"]) in OPEN


def is_filled(order: dict[str, Any]) -> bool:
    return (dec(order["filled_quantity"]) or Decimal(0)) > 0


def average_fill(order: dict[str, Any]) -> Decimal | None:
    filled = dec(order["filled_quantity"]) or Decimal(0)
    if filled == 0:
        return None
    quote = dec(order["cumulative_quote"]) or Decimal(0)
    return quote / filled


def _orders(world: World, exchange: str, symbol: str | None = None) -> list[dict[str, Any]]:
    return world.exchange_orders(exchange, symbol)


def _market(orders: list[dict[str, Any]], side: str) -> list[dict[str, Any]]:
    return [o for o in orders if o["type"] == "market" and o["side"] == side]


# ---------------------------------------------------------------------------------- received
@then(step_parser("{exchange:Ex} received a market buy of {quantity:Dec} {symbol:Sym}"))
def received_market_buy(world: World, exchange: str, quantity: Decimal, symbol: str) -> None:
    buys = _market(_orders(world, exchange, symbol), "buy")
    matching = [o for o in buys if matches_written(o["quantity"], quantity)]
    assert matching, f"no market buy of {quantity} {symbol}: {[describe(o) for o in buys]}"
    assert any(is_filled(o) for o in matching), f"the market buy did not fill: {matching}"


@then(step_parser("{exchange:Ex} received a market buy of {symbol:Sym}"))
def received_any_market_buy(world: World, exchange: str, symbol: str) -> None:
    buys = _market(_orders(world, exchange, symbol), "buy")
    assert buys, f"{exchange} received no market buy of {symbol}"


@then(step_parser("{exchange:Ex} received {count:d} market buy of {quantity:Dec} {symbol:Sym}"))
@then(step_parser("{exchange:Ex} received {count:d} market buys of {quantity:Dec} {symbol:Sym}"))
def received_market_buys(
    world: World, exchange: str, count: int, quantity: Decimal, symbol: str
) -> None:
    buys = _market(_orders(world, exchange, symbol), "buy")
    matching = [o for o in buys if matches_written(o["quantity"], quantity)]
    assert len(matching) == count, (
        f"{len(matching)} market buys of {quantity} {symbol}, expected {count}: "
        f"{[describe(o) for o in buys]}"
    )


@then(step_parser("{exchange:Ex} received {count:d} market sells of {quantity:Dec} {symbol:Sym}"))
def received_market_sells(
    world: World, exchange: str, count: int, quantity: Decimal, symbol: str
) -> None:
    sells = _market(_orders(world, exchange, symbol), "sell")
    matching = [o for o in sells if matches_written(o["quantity"], quantity)]
    assert len(matching) == count, (
        f"{len(matching)} market sells of {quantity} {symbol}, expected {count}: "
        f"{[describe(o) for o in sells]}"
    )


@then(step_parser("{exchange:Ex} filled a sell of {quantity:Dec} {symbol:Sym} at {price:Dec}"))
def filled_sell(
    world: World, exchange: str, quantity: Decimal, symbol: str, price: Decimal
) -> None:
    sells = [o for o in _orders(world, exchange, symbol) if o["side"] == "sell" and is_filled(o)]
    matching = [
        o
        for o in sells
        if matches_written(o["filled_quantity"], quantity)
        and matches_written(average_fill(o), price)
    ]
    assert matching, (
        f"no filled sell of {quantity} {symbol} at {price}: "
        f"{[(o['type'], o['filled_quantity'], str(average_fill(o))) for o in sells]}"
    )


@then(step_parser("{exchange:Ex} shows no filled sell of {symbol:Sym}"))
def no_filled_sell(world: World, exchange: str, symbol: str) -> None:
    sells = [o for o in _orders(world, exchange, symbol) if o["side"] == "sell" and is_filled(o)]
    assert not sells, f"filled sells of {symbol}: {[describe(o) for o in sells]}"


@then(
    step_parser(
        "{exchange:Ex} cancelled the {side:w} of {quantity:Dec} {symbol:Sym} at {price:Dec}"
    )
)
def cancelled(
    world: World, exchange: str, side: str, quantity: Decimal, symbol: str, price: Decimal
) -> None:
    orders = _orders(world, exchange, symbol)
    matching = [
        o
        for o in orders
        if o["side"] == side
        and o["status"] == "CANCELED"
        and matches_written(o["quantity"], quantity)
        and matches_written(o["price"], price)
    ]
    assert matching, f"no cancelled {side} {quantity} @ {price}: {[describe(o) for o in orders]}"


# ---------------------------------------------------------------------------------- the book
@given(step_parser("{exchange:Ex} shows {count:d} open orders for {symbol:Sym}"))
@then(step_parser("{exchange:Ex} shows {count:d} open orders for {symbol:Sym}"))
def open_count(world: World, exchange: str, count: int, symbol: str) -> None:
    live = [o for o in _orders(world, exchange, symbol) if is_open(o)]
    assert len(live) == count, f"{len(live)} open {symbol} orders: {[describe(o) for o in live]}"


@then(step_parser("{exchange:Ex} shows {count:d} open {side:w} orders for {symbol:Sym}"))
def open_side_count(world: World, exchange: str, count: int, side: str, symbol: str) -> None:
    live = [o for o in _orders(world, exchange, symbol) if is_open(o) and o["side"] == side]
    assert len(live) == count, f"{len(live)} open {side}s: {[describe(o) for o in live]}"


@then(step_parser("{exchange:Ex} shows these open {symbol:Sym} orders:"))
def open_orders_are(world: World, exchange: str, symbol: str, datatable: list[list[str]]) -> None:
    live = [o for o in _orders(world, exchange, symbol) if is_open(o)]
    expected = table_rows(datatable)
    unmatched = list(live)
    for row in expected:
        found = next(
            (
                o
                for o in unmatched
                if o["side"] == row["side"]
                and o["type"] == row["type"]
                and matches_written(o["price"], row["price"])
                and matches_written(o["quantity"], row["quantity"])
            ),
            None,
        )
        assert found is not None, (
            f"no open {row} on {exchange}; open orders: {[describe(o) for o in live]}"
        )
        unmatched.remove(found)
    assert not unmatched, f"unexpected open orders: {[describe(o) for o in unmatched]}"


@then(step_parser("{exchange:Ex} shows no {symbol:Sym} orders"))
def no_orders_for(world: World, exchange: str, symbol: str) -> None:
    orders = _orders(world, exchange, symbol)
    assert not orders, f"{exchange} has {symbol} orders: {[describe(o) for o in orders]}"


@then(step_parser("{exchange:Ex} shows no orders"))
def no_orders(world: World, exchange: str) -> None:
    orders = _orders(world, exchange)
    assert not orders, f"{exchange} has orders: {[describe(o) for o in orders]}"


@then(
    step_parser(
        "every {symbol:Sym} order on {exchange:Ex} is on the {tick:Dec} tick "
        "and the {step:Dec} step"
    )
)
def on_tick_and_step(
    world: World, symbol: str, exchange: str, tick: Decimal, step: Decimal
) -> None:
    orders = _orders(world, exchange, symbol)
    assert orders, f"no {symbol} orders on {exchange}"
    for order in orders:
        price, quantity = dec(order["price"]), dec(order["quantity"])
        if price is not None:
            assert price % tick == 0, f"price {price} is not a multiple of {tick}: {order}"
        assert quantity is not None and quantity % step == 0, f"quantity off the step: {order}"


# ---------------------------------------------------------------------------------- balances
@then(step_parser("the {asset:Sym} balance on {exchange:Ex} changed by {delta:Dec}"))
def balance_changed(world: World, asset: str, exchange: str, delta: Decimal) -> None:
    before = world.start_balances[exchange].get(asset, Decimal(0))
    after = world.exchange_balances(exchange).get(asset, Decimal(0))
    assert matches_written(after - before, delta), (
        f"{asset} on {exchange}: {before} -> {after} (change {after - before}, expected {delta})"
    )


# ---------------------------------------------------------------------------------- integrity
@then(step_parser("no client order id was sent twice to {exchange:Ex}"))
def no_duplicate_orders(world: World, exchange: str) -> None:
    ids = Counter(str(o["client_order_id"]) for o in _orders(world, exchange))
    twice = {cid: n for cid, n in ids.items() if n > 1}
    assert not twice, f"client order ids placed more than once on {exchange}: {twice}"


@then("every order the engine sent is known to its exchange")
def engine_orders_known(world: World) -> None:
    known: dict[str, set[str]] = {}
    for exchange in ("binance", "bybit"):
        known[exchange] = {str(o["client_order_id"]) for o in _orders(world, exchange)}
    engine = world.engine_orders()
    sent = [o for o in engine if o["exchange_order_id"]]
    missing = [
        o["client_order_id"] for o in sent if o["client_order_id"] not in known[o["exchange"]]
    ]
    assert not missing, f"orders the exchange does not know: {missing}"
    ours = {str(o["client_order_id"]) for o in engine}
    strangers = [cid for ids in known.values() for cid in ids if cid not in ours]
    assert not strangers, f"exchange orders the engine does not know: {strangers}"
