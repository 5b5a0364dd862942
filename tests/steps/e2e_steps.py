"""Steps of the e2e prediction-to-profit flow, through the service's e2e routes:
POST /signals/predict, POST /trades/place, GET /trades/order/{id}, GET /trades/positions."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pytest_bdd import then, when

from tests.steps.exchange_steps import average_fill
from tests.steps.support import assert_written, dec, matches_written, step_parser, table_rows
from tests.steps.world import World

__all__: list[str] = []


def _symbols(text: str) -> list[str]:
    return [s for s in re.split(r", | and ", text.strip()) if s]


def _predictions(world: World) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = world.notes.setdefault("predictions", {})
    return found


@then(step_parser('the backend reports healthy with binance and bybit "{state}"'))
def backend_healthy(world: World, state: str) -> None:
    health = world.health()
    assert health["status"] == "ok" and health["database"] == "ok", health
    assert health["exchanges"] == {"binance": state, "bybit": state}, health


@when(step_parser("predictions are requested for {symbols} on {exchange:Ex}"))
def request_predictions(world: World, symbols: str, exchange: str) -> None:
    for symbol in _symbols(symbols):
        body = world.api("POST", "/signals/predict", json={"symbol": symbol, "exchange": exchange})
        assert body["symbol"] == symbol, body
        _predictions(world)[symbol] = dict(body, exchange=exchange)


@then("the latest predictions are:")
def latest_predictions(world: World, datatable: list[list[str]]) -> None:
    predictions = _predictions(world)
    for row in table_rows(datatable):
        got = predictions[row["symbol"]]
        assert got["action"] == row["action"], f"{row['symbol']}: {got}"
        for column in ("predicted_return", "confidence", "price"):
            assert_written(got[column], row[column], f"{row['symbol']} {column}")


@when("the predictions are turned into signals")
def to_signals(world: World) -> None:
    signals: list[tuple[str, str, dict[str, Any]]] = []
    skipped: list[tuple[str, str, dict[str, Any]]] = []
    for symbol, prediction in _predictions(world).items():
        side = {"buy": "long", "sell": "short"}[prediction["action"]]
        # the seed user trades spot markets: a short cannot be opened there (flow: skip, continue)
        (skipped if side == "short" else signals).append((symbol, side, prediction))
    world.notes["signals"] = signals
    world.notes["skipped"] = skipped


@then(step_parser("the signals are {items}"))
def signals_are(world: World, items: str) -> None:
    expected = []
    for item in _symbols(items):
        match = re.fullmatch(r"an? (long|short) ([A-Z0-9]+)", item)
        assert match is not None, f"cannot read {item!r}"
        expected.append((match.group(2), match.group(1)))
    got = [(symbol, side) for symbol, side, _ in world.notes["signals"]]
    assert got == expected, f"signals {got}, expected {expected}"


def _place(world: World, body: dict[str, Any]) -> dict[str, Any]:
    return dict(world.api("POST", "/trades/place", json=body, expect=(200, 202)))


@then(step_parser('the skipped {symbol:Sym} short would be refused with reason "{reason}"'))
def skipped_refused(world: World, symbol: str, reason: str) -> None:
    skipped = {s: p for s, _side, p in world.notes["skipped"]}
    assert symbol in skipped, f"{symbol} was not skipped: {world.notes['skipped']}"
    answer = _place(
        world,
        {
            "user_id": world.user.user_id,
            "exchange": skipped[symbol]["exchange"],
            "symbol": symbol,
            "side": "sell",
            "order_size": "100",
            "position_size_type": "quote",
        },
    )
    assert (answer["outcome"], answer["reason"]) == ("rejected", reason), answer


def _tick(world: World, exchange: str, symbol: str) -> Decimal:
    for entry in world.refresh_precision(exchange, symbol)["exchanges"]:
        if entry["exchange"] == exchange:
            tick = dec(entry["tick_size"])
            assert tick is not None, entry
            return tick
    raise AssertionError(f"no precision entry for {exchange}")


def _floor(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value(rounding=ROUND_DOWN) * tick


@when(
    step_parser(
        "each signal is placed as a {amount:Dec} USDT trade with a take-profit {tp:Dec} % above "
        "and a stop {sl:Dec} % below the current price"
    )
)
def place_trades(world: World, amount: Decimal, tp: Decimal, sl: Decimal) -> None:
    placed = {}
    for symbol, side, prediction in world.notes["signals"]:
        exchange = prediction["exchange"]
        price = Decimal(prediction["price"])
        tick = _tick(world, exchange, symbol)
        body = {
            "user_id": world.user.user_id,
            "exchange": exchange,
            "symbol": symbol,
            "side": side,
            "order_size": str(amount),
            "position_size_type": "quote",
            "take_profit": str(_floor(price * (1 + tp / 100), tick)),
            "stop_loss": str(_floor(price * (1 - sl / 100), tick)),
        }
        placed[symbol] = _place(world, body)
    world.notes["placed"] = placed


@then(step_parser('every placed trade is accepted with outcome "{outcome}" and an entry order id'))
def placed_ok(world: World, outcome: str) -> None:
    for symbol, answer in world.notes["placed"].items():
        assert answer["outcome"] == outcome, f"{symbol}: {answer}"
        assert answer["order_id"] and answer["trade_id"], f"{symbol}: {answer}"


@then("the entry orders are filled:")
def entries_filled(world: World, datatable: list[list[str]]) -> None:
    for row in table_rows(datatable):
        answer = world.notes["placed"][row["symbol"]]
        order = world.api("GET", f"/trades/order/{answer['order_id']}")
        assert order["status"] == "filled", order
        assert_written(order["filled_quantity"], row["quantity"], f"{row['symbol']} filled")
        assert_written(order["average_price"], row["average_price"], f"{row['symbol']} price")
        seen = [
            o
            for o in world.exchange_orders("binance", row["symbol"])
            if o["client_order_id"] == order["client_order_id"]
        ]
        assert len(seen) == 1 and seen[0]["status"] == "FILLED", f"exchange view: {seen}"


@then("the open trades are:")
def open_trades(world: World, datatable: list[list[str]]) -> None:
    trades = {t["symbol"]: t for t in world.api("GET", "/trades/positions")}
    rows = table_rows(datatable)
    assert set(trades) == {r["symbol"] for r in rows}, f"open trades: {list(trades)}"
    for row in rows:
        trade = trades[row["symbol"]]
        assert_written(trade["quantity"], row["quantity"], f"{row['symbol']} quantity")
        assert_written(trade["average_entry"], row["average_entry"], f"{row['symbol']} entry")
        assert any(matches_written(p, row["take_profit"]) for p in trade["take_profit_prices"]), (
            f"{row['symbol']} take-profits {trade['take_profit_prices']}"
        )
        assert_written(trade["stop_price"], row["stop"], f"{row['symbol']} stop")


@then("the closed trades are:")
def closed_trades(world: World, datatable: list[list[str]]) -> None:
    closed = {g["symbol"]: g for g in world.positions("closed")}
    for row in table_rows(datatable):
        group = closed.get(row["symbol"])
        assert group is not None, f"{row['symbol']} is not closed: {list(closed)}"
        assert_written(group["realised_pnl"], row["realised_pnl"], f"{row['symbol']} realised")
        exits = [
            o
            for o in world.exchange_orders(group["exchange"], row["symbol"])
            if o["side"] == "sell" and (dec(o["filled_quantity"]) or 0) > 0
        ]
        sold = sum((Decimal(o["filled_quantity"]) for o in exits), Decimal(0))
        quote = sum((Decimal(o["cumulative_quote"]) for o in exits), Decimal(0))
        assert_written(sold, row["quantity"], f"{row['symbol']} quantity sold")
        assert exits and matches_written(quote / sold, row["exit_price"]), (
            f"{row['symbol']} exits {[(o['type'], average_fill(o)) for o in exits]}"
        )


@then("no trade is open")
def no_trade_open(world: World) -> None:
    trades = world.api("GET", "/trades/positions")
    assert trades == [], f"open trades: {trades}"


@then(
    step_parser(
        "the metrics show realised PnL {value:Dec} over {count:d} closed groups "
        "with win rate {rate:Dec}"
    )
)
def settled_metrics(world: World, value: Decimal, count: int, rate: Decimal) -> None:
    metrics = world.metrics()
    assert_written(metrics["realised_pnl"], value, "realised PnL")
    assert int(metrics["closed_groups"]) == count, metrics
    assert_written(metrics["win_rate"], rate, "win rate")
