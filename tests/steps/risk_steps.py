"""Steps about the risk engine: GET /risk (timers, eligibility), GET /risk/actions (what each
offset did), POST /risk/run and the manual controls."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pytest_bdd import given, then, when

from tests.steps.support import assert_written, dec, step_parser, table_rows
from tests.steps.world import World

__all__: list[str] = []

GROUP = "the {symbol:Sym} {timeframe:d} group on {exchange:Ex}"


def _risk_entry(world: World, group_id: str) -> dict[str, Any]:
    for entry in world.risk():
        if entry["group_id"] == group_id:
            return dict(entry)
    raise AssertionError(f"group {group_id} is not in the risk view: {world.risk()}")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _last_action(world: World) -> dict[str, Any]:
    actions = world.risk_actions()
    assert actions, "no risk action has been recorded"
    return dict(max(actions, key=lambda a: (int(a["at_ms"]), str(a["action_id"]))))


def _symbol_of(world: World, group_id: str) -> str:
    for group in world.positions("all"):
        if group["group_id"] == group_id:
            return str(group["symbol"])
    raise AssertionError(f"unknown group {group_id}")


# ---------------------------------------------------------------------------------- actions
@when("the risk engine is run")
def risk_run(world: World) -> None:
    world.remember_realised()
    world.run_risk()


def _control(world: World, action: str, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    answer = world.risk_control(group["group_id"], action)
    assert answer["group_id"] == group["group_id"], answer


@given(step_parser("the risk engine was told to {action:w} " + GROUP))
@when(step_parser("the risk engine is told to {action:w} " + GROUP))
def risk_control(world: World, action: str, symbol: str, timeframe: int, exchange: str) -> None:
    if action not in ("block", "unblock"):
        raise AssertionError(f"unknown risk control {action!r}")
    _control(world, action, symbol, timeframe, exchange)


@when(step_parser("the risk engine is told to skip " + GROUP + " once"))
def risk_skip_once(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    _control(world, "skip-once", symbol, timeframe, exchange)


# ---------------------------------------------------------------------------------- views
@then(
    step_parser(
        "the risk view shows "
        + GROUP
        + " with a timer expiring {seconds:d} seconds after its start"
    )
)
def timer_expiry(world: World, symbol: str, timeframe: int, exchange: str, seconds: int) -> None:
    group = world.group(exchange, symbol, timeframe)
    entry = _risk_entry(world, group["group_id"])
    assert entry["timer_started_at"], f"{symbol}: the timer has not started: {entry}"
    started, expires = _ms(entry["timer_started_at"]), _ms(entry["timer_expires_at"])
    assert expires - started == seconds * 1000, f"timer {entry['timer_started_at']} -> {expires}"


@then(step_parser("the risk view shows " + GROUP + " as an eligible loser"))
def eligible(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    entry = _risk_entry(world, group["group_id"])
    assert entry["eligible"] is True, f"{symbol} not eligible: {entry}"


@then(step_parser("the risk view shows " + GROUP + " as blocked and not eligible"))
def blocked(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    group = world.group(exchange, symbol, timeframe)
    entry = _risk_entry(world, group["group_id"])
    assert entry["blocked"] is True and entry["eligible"] is False, entry


@then("no risk action has been recorded")
def no_action(world: World) -> None:
    actions = world.risk_actions()
    assert actions == [], f"risk actions: {actions}"


@then(step_parser("{count:d} risk action has been recorded"))
@then(step_parser("{count:d} risk actions have been recorded"))
def action_count(world: World, count: int) -> None:
    actions = world.risk_actions()
    assert len(actions) == count, f"{len(actions)} risk actions: {actions}"


@then(
    step_parser(
        "the last risk action closed {quantity:Dec} of the {symbol:Sym} loser with winners:"
    )
)
def last_action_closed(
    world: World, quantity: Decimal, symbol: str, datatable: list[list[str]]
) -> None:
    action = _last_action(world)
    assert _symbol_of(world, action["loser_group_id"]) == symbol, action
    assert_written(action["loser_close_quantity"], quantity, "loser close quantity")
    got = {_symbol_of(world, w["group_id"]): w["quantity"] for w in action["winners"]}
    rows = table_rows(datatable)
    assert set(got) == {row["symbol"] for row in rows}, f"winners {got}, expected {rows}"
    for row in rows:
        assert_written(got[row["symbol"]], row["quantity"], f"winner {row['symbol']} quantity")


@then(
    step_parser(
        "the last risk action covered {covered:Dec} USD of a {loss:Dec} USD loss at {percent:Dec} %"
    )
)
def last_action_covered(world: World, covered: Decimal, loss: Decimal, percent: Decimal) -> None:
    action = _last_action(world)
    assert_written(action["covered_usd"], covered, "covered USD")
    loss_usd = dec(action["loser_loss_usd"])
    assert loss_usd is not None
    # the record may keep the loss as a negative unrealised figure or as its size
    assert_written(-abs(loss_usd), loss, "loser loss USD")
    assert_written(action["loser_loss_percent"], percent, "loser loss %")


@then(step_parser("the last risk action offset the {symbol:Sym} loser at {percent:Dec} %"))
def last_action_loser(world: World, symbol: str, percent: Decimal) -> None:
    action = _last_action(world)
    assert _symbol_of(world, action["loser_group_id"]) == symbol, action
    assert_written(action["loser_loss_percent"], percent, "loser loss %")


@then("the last risk action has a net of at least 0")
def last_action_net(world: World) -> None:
    action = _last_action(world)
    assert Decimal(action["net_usd"]) >= 0, f"net {action['net_usd']} < 0: {action}"


# ---------------------------------------------------------------------------------- realised
def _change(world: World, symbol: str, timeframe: int, exchange: str) -> Decimal:
    group = world.group(exchange, symbol, timeframe)
    before = world.realised_before.get(group["group_id"], Decimal(0))
    return Decimal(group["realised_pnl"]) - before


@then(step_parser("the realised PnL of " + GROUP + " rose by {amount:Dec} in the risk close"))
def realised_rose_by(
    world: World, symbol: str, timeframe: int, exchange: str, amount: Decimal
) -> None:
    assert_written(_change(world, symbol, timeframe, exchange), amount, f"{symbol} realised rise")


@then(step_parser("the realised PnL of " + GROUP + " fell by {amount:Dec} in the risk close"))
def realised_fell_by(
    world: World, symbol: str, timeframe: int, exchange: str, amount: Decimal
) -> None:
    assert_written(-_change(world, symbol, timeframe, exchange), amount, f"{symbol} realised fall")


@then(
    step_parser(
        "the risk close realised no net loss across the {loser:Sym} and {winner:Sym} groups"
    )
)
def no_net_loss(world: World, loser: str, winner: str) -> None:
    total = Decimal(0)
    for symbol in (loser, winner):
        groups = [g for g in world.positions("all") if g["symbol"] == symbol]
        assert len(groups) == 1, f"expected one {symbol} group: {groups}"
        group = groups[0]
        total += Decimal(group["realised_pnl"]) - world.realised_before.get(
            group["group_id"], Decimal(0)
        )
    assert total >= 0, f"the offset realised a net loss of {total}"
