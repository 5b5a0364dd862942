"""Steps that read the engine's records through the management API: position groups, their
pyramids and legs, the pool, the queue and the metrics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pytest_bdd import given, then

from tests.steps.support import (
    assert_written,
    dec,
    describe,
    matches_written,
    step_parser,
    table_rows,
)
from tests.steps.world import World

__all__ = ["all_legs", "find_leg"]

GROUP = "the {symbol:Sym} {timeframe:d} group on {exchange:Ex}"
SIDED_GROUP = "the {symbol:Sym} {timeframe:d} {side:w} group on {exchange:Ex}"


def all_legs(group: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(leg, pyramid=p["index"]) for p in group["pyramids"] for leg in p["legs"]]


def find_leg(group: dict[str, Any], pyramid: int, index: int) -> dict[str, Any]:
    for leg in all_legs(group):
        if int(leg["pyramid"]) == pyramid and int(leg["index"]) == index:
            return leg
    raise AssertionError(f"no leg {index} in pyramid {pyramid}; legs: {all_legs(group)}")


def _leg_filled(leg: dict[str, Any]) -> bool:
    quantity, filled = dec(leg["quantity"]), dec(leg["filled_quantity"])
    return quantity is not None and filled is not None and filled > 0 and filled >= quantity


# ---------------------------------------------------------------------------------- groups
@then(step_parser(GROUP + ' is listed with status "{status}" and {count:d} of {limit:d} pyramids'))
def group_listed(
    world: World, symbol: str, timeframe: int, exchange: str, status: str, count: int, limit: int
) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert group["status"] == status, f"status {group['status']!r}, expected {status!r}"
    assert int(group["pyramid_count"]) == count, f"{group['pyramid_count']} pyramids, not {count}"
    assert int(group["max_pyramids"]) == limit, f"max {group['max_pyramids']}, not {limit}"
    if status in ("live", "partially_filled", "active", "closing"):
        listed = [g["group_id"] for g in world.positions("open")]
        assert group["group_id"] in listed, "an open group is missing from status=open"


@then(step_parser(GROUP + ' is listed with status "{status}"'))
def group_status(world: World, symbol: str, timeframe: int, exchange: str, status: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert group["status"] == status, f"status {group['status']!r}, expected {status!r}"


@then(step_parser(SIDED_GROUP + ' is listed with status "{status}"'))
def sided_group_listed(
    world: World, symbol: str, timeframe: int, side: str, exchange: str, status: str
) -> None:
    group = world.group(exchange, symbol, timeframe, side)
    assert group["status"] == status, f"{side} group status {group['status']!r}, not {status!r}"


@then(step_parser(GROUP + " has these legs:"))
def group_legs(
    world: World, symbol: str, timeframe: int, exchange: str, datatable: list[list[str]]
) -> None:
    group = world.group(exchange, symbol, timeframe)
    for row in table_rows(datatable):
        leg = find_leg(group, int(row.pop("pyramid")), int(row.pop("leg")))
        for column, expected in row.items():
            if expected == "":
                continue  # a blank cell is not checked
            actual = leg.get(column)
            if column in ("status", "side"):
                assert actual == expected, (
                    f"leg {leg['index']} {column}: {actual!r} != {expected!r}"
                )
            else:
                assert matches_written(actual, expected), (
                    f"pyramid {leg['pyramid']} leg {leg['index']} {column}: "
                    f"expected {expected}, got {actual}"
                )


@then(step_parser(GROUP + " has {count:d} legs"))
def leg_count(world: World, symbol: str, timeframe: int, exchange: str, count: int) -> None:
    legs = all_legs(world.group(exchange, symbol, timeframe))
    assert len(legs) == count, f"{len(legs)} legs, expected {count}"


@given(step_parser(GROUP + " has {filled:d} of {total:d} entry legs filled"))
@then(step_parser(GROUP + " has {filled:d} of {total:d} entry legs filled"))
def legs_filled(
    world: World, symbol: str, timeframe: int, exchange: str, filled: int, total: int
) -> None:
    legs = all_legs(world.group(exchange, symbol, timeframe))
    done = [leg for leg in legs if _leg_filled(leg)]
    assert (len(done), len(legs)) == (filled, total), (
        f"{len(done)} of {len(legs)} entry legs filled, expected {filled} of {total}: "
        f"{[(leg['pyramid'], leg['index'], leg['status'], leg['filled_quantity']) for leg in legs]}"
    )


@then(step_parser(GROUP + " has {still_open:d} of {total:d} legs still open"))
def legs_open(
    world: World, symbol: str, timeframe: int, exchange: str, still_open: int, total: int
) -> None:
    legs = all_legs(world.group(exchange, symbol, timeframe))
    holding = [leg for leg in legs if (dec(leg["open_quantity"]) or Decimal(0)) > 0]
    assert (len(holding), len(legs)) == (still_open, total), (
        f"{len(holding)} of {len(legs)} legs hold an open quantity, "
        f"expected {still_open} of {total}"
    )


@then(step_parser(GROUP + " has average entry {average:Dec} and open quantity {quantity:Dec}"))
def average_and_quantity(
    world: World, symbol: str, timeframe: int, exchange: str, average: Decimal, quantity: Decimal
) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert_written(group["average_entry"], average, f"{symbol} average entry")
    assert_written(group["open_quantity"], quantity, f"{symbol} open quantity")


@then(step_parser(GROUP + " shows unrealised PnL {usd:Dec} and {percent:Dec} %"))
def unrealised_both(
    world: World, symbol: str, timeframe: int, exchange: str, usd: Decimal, percent: Decimal
) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert_written(group["unrealised_pnl"], usd, f"{symbol} unrealised PnL")
    assert_written(group["unrealised_percent"], percent, f"{symbol} unrealised %")


@then(step_parser(GROUP + " shows unrealised PnL {usd:Dec}"))
def unrealised_usd(world: World, symbol: str, timeframe: int, exchange: str, usd: Decimal) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert_written(group["unrealised_pnl"], usd, f"{symbol} unrealised PnL")


@then(step_parser("the realised PnL of " + GROUP + " is {value:Dec}"))
def realised_is(world: World, symbol: str, timeframe: int, exchange: str, value: Decimal) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert_written(group["realised_pnl"], value, f"{symbol} realised PnL")


@then(step_parser("the realised PnL of " + GROUP + " rose"))
def realised_rose(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    before = world.realised_before.get(group["group_id"], Decimal(0))
    now = Decimal(group["realised_pnl"])
    assert now > before, f"realised PnL went from {before} to {now}"


@then(step_parser("the realised PnL of " + GROUP + " is the sum of its legs' realised PnL"))
def realised_sum(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    legs_total = sum((Decimal(leg["realised_pnl"]) for leg in all_legs(group)), Decimal(0))
    assert Decimal(group["realised_pnl"]) == legs_total, (
        f"group realised {group['realised_pnl']} != sum of legs {legs_total}"
    )


@then(step_parser(GROUP + " has a closed_at time not before its created_at time"))
def closed_after_created(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    assert group["closed_at"] and group["closed_at_ms"] is not None, f"no closed_at: {group}"
    assert int(group["created_at_ms"]) <= int(group["updated_at_ms"]) <= int(group["closed_at_ms"])


@then("no open position is listed")
def none_open(world: World) -> None:
    listed = world.positions("open")
    assert listed == [], f"open positions: {[describe(g) for g in listed]}"


@then(step_parser("the closed positions list holds " + GROUP))
def closed_list(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    closed = [g["group_id"] for g in world.positions("closed")]
    assert group["group_id"] in closed, f"{symbol} not in the closed list {closed}"


@then(step_parser("no {symbol:Sym} group exists"))
def no_group(world: World, symbol: str) -> None:
    found = [describe(g) for g in world.positions("all") if g["symbol"] == symbol]
    assert not found, f"{symbol} groups exist: {found}"


@then(step_parser("no {symbol:Sym} group on {exchange:Ex} holds a pool slot"))
def no_slot(world: World, symbol: str, exchange: str) -> None:
    holding = [g for g in world.groups(exchange, symbol) if g["status"] not in ("closed", "failed")]
    assert not holding, f"{symbol} groups still holding a slot: {[describe(g) for g in holding]}"
    pool = world.pool()
    assert not set(pool["groups"]) & {g["group_id"] for g in world.groups(exchange, symbol)}


@then(step_parser("the metrics show realised PnL {value:Dec} and {count:d} open groups"))
def metrics_show(world: World, value: Decimal, count: int) -> None:
    metrics = world.metrics()
    assert_written(metrics["realised_pnl"], value, "metrics realised PnL")
    assert int(metrics["open_groups"]) == count, f"metrics: {metrics}"


# ---------------------------------------------------------------------------------- pool
@given(step_parser("the pool shows {used:d} of {limit:d} slots used"))
@then(step_parser("the pool shows {used:d} of {limit:d} slots used"))
def pool_shows(world: World, used: int, limit: int) -> None:
    pool = world.pool()
    assert (int(pool["used"]), int(pool["max"])) == (used, limit), f"pool: {pool}"
    assert len(pool["groups"]) == used, f"pool lists {pool['groups']}"


# ---------------------------------------------------------------------------------- queue
@given(step_parser("the queue holds {count:d} signal"))
@given(step_parser("the queue holds {count:d} signals"))
@then(step_parser("the queue holds {count:d} signal"))
@then(step_parser("the queue holds {count:d} signals"))
def queue_holds(world: World, count: int) -> None:
    queue = world.queue()
    assert len(queue) == count, f"queue has {len(queue)}: {[describe(q) for q in queue]}"
    metrics = world.metrics()
    assert int(metrics["queue_length"]) == count, f"metrics queue_length: {metrics}"


@then("the queue is:")
def queue_is(world: World, datatable: list[list[str]]) -> None:
    queue = sorted(world.queue(), key=lambda q: int(q["rank"]))
    rows = table_rows(datatable)
    assert len(queue) == len(rows), f"queue: {[describe(q) for q in queue]}"
    for entry, row in zip(queue, rows, strict=True):
        for column, expected in row.items():
            actual = entry.get(column)
            if column in ("exchange", "symbol", "side", "reason"):
                assert str(actual).lower() == expected.lower(), f"{column}: {actual} != {expected}"
            elif column in ("rank", "timeframe", "replacement_count"):
                assert int(actual) == int(expected), f"{column}: {actual} != {expected}: {entry}"
            else:
                assert matches_written(actual, expected), f"{column}: {actual} != {expected}"


@then(step_parser("the queued {symbol:Sym} signal kept its original queue time"))
def queue_time_kept(world: World, symbol: str) -> None:
    entry = next(q for q in world.queue() if q["symbol"] == symbol)
    key = f"queued_at_ms:{entry['exchange']}:{symbol}:{entry['timeframe']}"
    assert key in world.notes, f"{symbol} was not queued by an earlier step"
    assert int(entry["queued_at_ms"]) == world.notes[key], (
        f"queued_at changed from {world.notes[key]} to {entry['queued_at_ms']}"
    )
