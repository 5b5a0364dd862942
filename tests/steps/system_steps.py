"""Steps about the system itself: starting it, the user's config, time, prices, faults,
precision metadata and health."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from pytest_bdd import given, then, when

from tests.steps.backends import derived_user
from tests.steps.support import assert_written, step_parser
from tests.steps.world import World

__all__: list[str] = []


# ---------------------------------------------------------------------------------- system
@given(
    step_parser('the trading system runs with the seed user "{username}"'), target_fixture="world"
)
def system_runs(start_world: Callable[[str], World], username: str) -> World:
    world = start_world(username)
    health = world.health()
    assert health.get("database") == "ok", f"database not ok at start: {health}"
    for exchange in ("binance", "bybit"):
        world.start_balances[exchange] = world.exchange_balances(exchange)
    return world


@given(step_parser('a second user "{username}" with the seed configuration'))
def second_user(world: World, username: str) -> None:
    other = derived_user(world.user, username)
    world.add_user(username, other.config)


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    target: Any = document
    for key in keys[:-1]:
        if key not in target or not isinstance(target[key], dict):
            raise AssertionError(f"config path {path!r}: {key!r} is not an object in the config")
        target = target[key]
    target[keys[-1]] = value


@given(step_parser('the user\'s config sets "{path}" to "{value}"'))
def config_sets(world: World, path: str, value: str) -> None:
    _set_path(world.user.config, path, value)
    answer = world.apply_config(world.user.config)
    assert answer.get("applied") is True, f"config not applied: {answer}"


@given(step_parser("the user's take-profit targets are {percent:d} % on every grid level"))
def tp_targets(world: World, percent: int) -> None:
    grid = world.user.config["dca_grid_config"]
    for level in grid["levels"]:
        level["tp_percent"] = percent
    for levels in dict(grid.get("pyramid_specific_levels") or {}).values():
        for level in levels:
            level["tp_percent"] = percent
    answer = world.apply_config(world.user.config)
    assert answer.get("applied") is True, f"config not applied: {answer}"


# ---------------------------------------------------------------------------------- time
def _pass(world: World, seconds: int) -> None:
    world.remember_realised()
    world.advance(seconds)


@given(step_parser("{seconds:d} seconds passed"))
@when(step_parser("{seconds:d} seconds pass"))
def seconds_pass(world: World, seconds: int) -> None:
    _pass(world, seconds)


@given(step_parser("{minutes:d} minute passes"))
@given(step_parser("{minutes:d} minute passed"))
@when(step_parser("{minutes:d} minute passes"))
@when(step_parser("{minutes:d} minutes pass"))
def minutes_pass(world: World, minutes: int) -> None:
    _pass(world, minutes * 60)


# ---------------------------------------------------------------------------------- prices
@given(step_parser("the price of {symbol:Sym} on {exchange:Ex} moved to {price:Dec}"))
@when(step_parser("the price of {symbol:Sym} on {exchange:Ex} moves to {price:Dec}"))
def price_moves(world: World, symbol: str, exchange: str, price: Decimal) -> None:
    world.remember_realised()
    answer = world.set_price(exchange, symbol, price)
    assert Decimal(str(answer["price"])) == price, f"the simulator did not take {price}: {answer}"


@given(step_parser("{exchange:Ex} trades {symbol:Sym} as a linear perpetual"))
def linear_market(world: World, exchange: str, symbol: str) -> None:
    world.backend.change_market(exchange, symbol, market_type="linear")
    answer = world.refresh_precision(exchange, symbol)
    listed = _precision_entry(answer, exchange)
    assert listed.get("known") is True, f"{symbol} unknown after the refresh: {listed}"


@given("the exchanges charge spot buy fees in the base asset")
def base_asset_fees(world: World) -> None:
    world.backend.set_buy_fee_asset("base")


@given(
    step_parser(
        "{exchange:Ex} changes the {symbol:Sym} step size to {step:Dec} without telling the engine"
    )
)
def step_changed(world: World, exchange: str, symbol: str, step: Decimal) -> None:
    world.backend.change_market(exchange, symbol, step_size=step)


# ---------------------------------------------------------------------------------- faults
@given(step_parser("{exchange:Ex} is down"))
def exchange_down(world: World, exchange: str) -> None:
    world.inject_fault(kind="down", exchange=exchange)


@when(step_parser("{exchange:Ex} comes back"))
def exchange_back(world: World, exchange: str) -> None:
    world.clear_faults(exchange)


@given(step_parser("{exchange:Ex} loses the response to the next {count:d} order"))
def response_lost(world: World, exchange: str, count: int) -> None:
    world.inject_fault(
        kind="response_lost", exchange=exchange, endpoint="order.create", count=count
    )


@given(step_parser("{exchange:Ex} rejects the API keys"))
def bad_keys(world: World, exchange: str) -> None:
    world.inject_fault(kind="bad_keys", exchange=exchange)


@given(step_parser("the exchanges answer the next {count:d} order requests with a rate limit"))
def rate_limited(world: World, count: int) -> None:
    """429 with Retry-After 1 s to the next ``count`` order requests, whichever exchange they
    go to (concurrent signals reach the exchanges in no fixed order)."""
    world.inject_fault(
        kind="rate_limit", exchange="*", endpoint="order.create", count=count, retry_after_s=1
    )


_FILTER_CODES = {
    "binance": {"LOT_SIZE": ("-1013", "Filter failure: LOT_SIZE")},
    "bybit": {"LOT_SIZE": ("170137", "Order quantity has too many decimals.")},
}


@given(
    step_parser(
        "{exchange:Ex} will reject the next {count:d} order on {symbol:Sym} "
        "with a {filter_name} filter failure"
    )
)
def filter_reject(world: World, exchange: str, count: int, symbol: str, filter_name: str) -> None:
    code, message = _FILTER_CODES[exchange][filter_name]
    world.inject_fault(
        kind="reject", exchange=exchange, symbol=symbol, count=count, code=code, message=message
    )


@given(step_parser("{exchange:Ex} stops reporting the tick size of {symbol:Sym}"))
def metadata_missing(world: World, exchange: str, symbol: str) -> None:
    world.inject_fault(kind="metadata_missing", exchange=exchange, symbol=symbol)


@when(step_parser("{exchange:Ex} reports the tick size of {symbol:Sym} again"))
def metadata_back(world: World, exchange: str, symbol: str) -> None:
    world.clear_faults(exchange)


# ---------------------------------------------------------------------------------- precision
def _precision_entry(answer: Any, exchange: str) -> dict[str, Any]:
    for entry in answer.get("exchanges", []):
        if str(entry.get("exchange")).lower() == exchange:
            return dict(entry)
    raise AssertionError(f"no {exchange} entry in the precision refresh answer: {answer}")


@given(step_parser("the precision rules of {symbol:Sym} on {exchange:Ex} were refreshed"))
@when(step_parser("the precision rules of {symbol:Sym} on {exchange:Ex} are refreshed"))
def precision_refreshed(world: World, symbol: str, exchange: str) -> None:
    entry = _precision_entry(world.refresh_precision(exchange, symbol), exchange)
    assert entry.get("loaded") is True, f"{exchange} markets not loaded: {entry}"


@then(
    step_parser(
        "the precision rules of {symbol:Sym} on {exchange:Ex} are tick {tick:Dec}, "
        "step {step:Dec} and min notional {min_notional:Dec}"
    )
)
def precision_rules(
    world: World, symbol: str, exchange: str, tick: Decimal, step: Decimal, min_notional: Decimal
) -> None:
    entry = _precision_entry(world.refresh_precision(exchange, symbol), exchange)
    assert entry.get("known") is True and entry.get("complete") is True, entry
    assert_written(entry["tick_size"], tick, f"{symbol} tick size")
    assert_written(entry["step_size"], step, f"{symbol} step size")
    assert_written(entry["min_notional"], min_notional, f"{symbol} min notional")


# ---------------------------------------------------------------------------------- health
@then("the service is up")
def service_up(world: World) -> None:
    health = world.health()
    assert health.get("database") == "ok", f"health: {health}"
    world.positions("open")  # the management API answers


@then(step_parser('the health of {exchange:Ex} is "{state}"'))
def health_is(world: World, exchange: str, state: str) -> None:
    health = world.health()
    assert health["exchanges"].get(exchange) == state, f"health: {health}"


@then(step_parser('the health of {exchange:Ex} is not "{state}"'))
def health_is_not(world: World, exchange: str, state: str) -> None:
    health = world.health()
    assert health["exchanges"].get(exchange) not in (state, None), f"health: {health}"


def iso_ms(text: str) -> int:
    """An ISO 8601 UTC time from the API as epoch milliseconds."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)
