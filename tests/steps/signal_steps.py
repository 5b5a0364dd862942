"""Steps that send webhooks (built exactly as scripts/simulate_webhook.py builds them) and
check the service's answer and the stored signal."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from pytest_bdd import given, then, when

from tests.steps.support import assert_written, flag_table, step_parser
from tests.steps.world import SentSignal, World

__all__ = ["entry_flags", "exit_flags", "expect_outcome"]

ENTRY_OUTCOMES = ("opened", "pyramid")


def entry_flags(
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    price: Decimal | None = None,
    size: Decimal | None = None,
) -> dict[str, str]:
    """The plan's flags for an entry: --exchange --symbol --timeframe --action --side --type."""
    if side not in ("long", "short"):
        raise AssertionError(f"side must be long or short, got {side!r}")
    flags = {
        "exchange": exchange.upper(),
        "symbol": symbol,
        "timeframe": str(timeframe),
        "action": "buy" if side == "long" else "sell",
        "side": side,
        "type": "signal",
    }
    if price is not None:
        flags["entry-price"] = str(price)
    if size is not None:
        flags["order-size"] = str(size)
    return flags


def exit_flags(symbol: str, timeframe: int, exchange: str) -> dict[str, str]:
    """The plan's Test 1.5 exit: --action sell --type exit (no side: the open group's)."""
    return {
        "exchange": exchange.upper(),
        "symbol": symbol,
        "timeframe": str(timeframe),
        "action": "sell",
        "type": "exit",
    }


def expect_outcome(sent: SentSignal, allowed: Sequence[str], what: str) -> None:
    assert sent.status_code == 202, (
        f"{what}: webhook answered {sent.status_code}, expected 202: {sent.body}"
    )
    assert sent.outcome in allowed, (
        f"{what}: outcome {sent.outcome!r} (reason {sent.reason!r}), expected one of {allowed}"
    )


# ---------------------------------------------------------------------------------- entries
@given(
    step_parser(
        "a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} was sent at "
        "{price:Dec} with order size {size:Dec}"
    )
)
def given_entry_sized(
    world: World,
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    price: Decimal,
    size: Decimal,
) -> None:
    sent = world.send_webhook(entry_flags(side, symbol, timeframe, exchange, price, size))
    expect_outcome(sent, ENTRY_OUTCOMES, f"{side} {symbol} {timeframe} on {exchange}")


@given(
    step_parser(
        "a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} "
        'was sent by "{username}" at {price:Dec} with order size {size:Dec}'
    )
)
def given_entry_by(
    world: World,
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    username: str,
    price: Decimal,
    size: Decimal,
) -> None:
    flags = entry_flags(side, symbol, timeframe, exchange, price, size)
    sent = world.send_webhook(flags, world.user_named(username))
    expect_outcome(sent, ENTRY_OUTCOMES, f"{username}'s {symbol} {timeframe} on {exchange}")


@given(
    step_parser(
        "a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} was sent at {price:Dec}"
    )
)
def given_entry_priced(
    world: World, side: str, symbol: str, timeframe: int, exchange: str, price: Decimal
) -> None:
    sent = world.send_webhook(entry_flags(side, symbol, timeframe, exchange, price))
    expect_outcome(sent, ENTRY_OUTCOMES, f"{side} {symbol} {timeframe} on {exchange}")


@given(step_parser("a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} was sent"))
def given_entry(world: World, side: str, symbol: str, timeframe: int, exchange: str) -> None:
    sent = world.send_webhook(entry_flags(side, symbol, timeframe, exchange))
    expect_outcome(sent, ENTRY_OUTCOMES, f"{side} {symbol} {timeframe} on {exchange}")


@given(step_parser("a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} was queued"))
def given_entry_queued(world: World, side: str, symbol: str, timeframe: int, exchange: str) -> None:
    sent = world.send_webhook(entry_flags(side, symbol, timeframe, exchange))
    expect_outcome(sent, ("queued",), f"{side} {symbol} {timeframe} on {exchange}")
    entry = next(
        (q for q in world.queue() if q["symbol"] == symbol and int(q["timeframe"]) == timeframe),
        None,
    )
    assert entry is not None, f"{symbol} {timeframe} is not in the queue: {world.queue()}"
    world.notes[f"queued_at_ms:{exchange}:{symbol}:{timeframe}"] = int(entry["queued_at_ms"])


@when(
    step_parser(
        "a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} is sent at "
        "{price:Dec} with order size {size:Dec}"
    )
)
def when_entry_sized(
    world: World,
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    price: Decimal,
    size: Decimal,
) -> None:
    world.send_webhook(entry_flags(side, symbol, timeframe, exchange, price, size))


@when(
    step_parser(
        "a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} is sent at {price:Dec}"
    )
)
def when_entry_priced(
    world: World, side: str, symbol: str, timeframe: int, exchange: str, price: Decimal
) -> None:
    world.send_webhook(entry_flags(side, symbol, timeframe, exchange, price))


@when(step_parser("a {side:w} signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} is sent"))
def when_entry(world: World, side: str, symbol: str, timeframe: int, exchange: str) -> None:
    world.send_webhook(entry_flags(side, symbol, timeframe, exchange))


def _repeat(
    world: World,
    count: int,
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    price: Decimal,
    size: Decimal | None,
    *,
    wait_first: bool,
) -> list[SentSignal]:
    sent = []
    for index in range(count):
        if index > 0 or wait_first:
            world.advance(60)
        sent.append(world.send_webhook(entry_flags(side, symbol, timeframe, exchange, price, size)))
    world.batch = sent
    return sent


@given(
    step_parser(
        "{count:d} {side:w} signals for {symbol:Sym} {timeframe:d} on {exchange:Ex} were sent "
        "one minute apart at {price:Dec}"
    )
)
def given_repeated(
    world: World, count: int, side: str, symbol: str, timeframe: int, exchange: str, price: Decimal
) -> None:
    for sent in _repeat(
        world, count, side, symbol, timeframe, exchange, price, None, wait_first=False
    ):
        expect_outcome(sent, ENTRY_OUTCOMES, f"{symbol} {timeframe} on {exchange}")


@given(
    step_parser(
        "{count:d} {side:w} signals for {symbol:Sym} {timeframe:d} on {exchange:Ex} were sent "
        "one minute apart at {price:Dec} with order size {size:Dec}"
    )
)
def given_repeated_sized(
    world: World,
    count: int,
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    price: Decimal,
    size: Decimal,
) -> None:
    for sent in _repeat(
        world, count, side, symbol, timeframe, exchange, price, size, wait_first=False
    ):
        expect_outcome(sent, ENTRY_OUTCOMES, f"{symbol} {timeframe} on {exchange}")


@when(
    step_parser(
        "{count:d} more {side:w} signals for {symbol:Sym} {timeframe:d} on {exchange:Ex} are sent "
        "one minute apart at {price:Dec} with order size {size:Dec}"
    )
)
def when_more_repeated(
    world: World,
    count: int,
    side: str,
    symbol: str,
    timeframe: int,
    exchange: str,
    price: Decimal,
    size: Decimal,
) -> None:
    _repeat(world, count, side, symbol, timeframe, exchange, price, size, wait_first=True)


@given(step_parser("the pool is filled with {items}"))
def pool_filled(world: World, items: str) -> None:
    """``A 60 on binance, B 60 on bybit and C 15 on binance``: long entries at the market
    price with the default capital, each must open a group."""
    for item in re.split(r", | and ", items):
        match = re.fullmatch(r"([A-Z0-9]+) (\d+) on (binance|bybit)", item.strip())
        assert match is not None, f"cannot read {item!r} as 'SYMBOL TIMEFRAME on EXCHANGE'"
        symbol, timeframe, exchange = match.group(1), int(match.group(2)), match.group(3)
        sent = world.send_webhook(entry_flags("long", symbol, timeframe, exchange))
        expect_outcome(sent, ("opened",), f"{symbol} {timeframe} on {exchange}")


# ---------------------------------------------------------------------------------- exits
@given(step_parser("an exit signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} was sent"))
def given_exit(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    sent = world.send_webhook(exit_flags(symbol, timeframe, exchange))
    expect_outcome(sent, ("exited",), f"exit {symbol} {timeframe} on {exchange}")


@when(step_parser("an exit signal for {symbol:Sym} {timeframe:d} on {exchange:Ex} is sent"))
def when_exit(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    world.remember_realised()
    world.send_webhook(exit_flags(symbol, timeframe, exchange))


# ---------------------------------------------------------------------------------- plan tables
@when("the user sends the plan's webhook:")
def plan_webhook(world: World, datatable: list[list[str]]) -> None:
    world.remember_realised()
    world.send_webhook(flag_table(datatable))


@when("the plan's webhook is sent twice at the same time:")
def plan_webhook_twice(world: World, datatable: list[list[str]]) -> None:
    flags = flag_table(datatable)
    world.batch = world.send_concurrently([flags, flags])


# ---------------------------------------------------------------------------------- answers
def _last(world: World) -> SentSignal:
    assert world.sent, "no webhook has been sent in this scenario"
    return world.sent[-1]


@then("the webhook is accepted")
def accepted(world: World) -> None:
    sent = _last(world)
    assert sent.status_code == 202, f"webhook answered {sent.status_code}: {sent.body}"
    assert sent.body.get("signal_id"), f"no signal id in the answer: {sent.body}"


@then(step_parser('the webhook is accepted with outcome "{outcome}"'))
def accepted_with(world: World, outcome: str) -> None:
    expect_outcome(_last(world), (outcome,), "the last webhook")


@then(step_parser('the webhook is accepted with outcome "{outcome}" and reason "{reason}"'))
def accepted_with_reason(world: World, outcome: str, reason: str) -> None:
    sent = _last(world)
    expect_outcome(sent, (outcome,), "the last webhook")
    assert sent.reason == reason, f"reason {sent.reason!r}, expected {reason!r}: {sent.body}"


@then(step_parser('each of them is accepted with outcome "{outcome}"'))
def each_accepted(world: World, outcome: str) -> None:
    assert world.batch, "no batch of webhooks was sent"
    for index, sent in enumerate(world.batch, start=1):
        expect_outcome(sent, (outcome,), f"webhook {index} of {len(world.batch)}")


@then(step_parser('the two outcomes are "{first}" and "{second}"'))
def two_outcomes(world: World, first: str, second: str) -> None:
    got = sorted(str(sent.outcome) for sent in world.batch)
    assert got == sorted([first, second]), f"outcomes {got}, expected {first} and {second}"
    assert all(sent.status_code == 202 for sent in world.batch), [s.body for s in world.batch]


@then(
    step_parser(
        'the stored signal for {symbol:Sym} is a {side:w} "{kind}" on {exchange:Ex}, '
        "timeframe {timeframe:d}, entry price {price:Dec}"
    )
)
def stored_signal(
    world: World, symbol: str, side: str, kind: str, exchange: str, timeframe: int, price: Decimal
) -> None:
    signal_id = _last(world).body.get("signal_id")
    stored = [s for s in world.signals() if s["signal_id"] == signal_id]
    assert len(stored) == 1, f"signal {signal_id} not stored: {world.signals()}"
    record = stored[0]
    assert record["symbol"] == symbol, record
    assert str(record["exchange"]).lower() == exchange, record
    assert int(record["timeframe"]) == timeframe, record
    assert record["type"] == kind, record
    payload = record["payload"]
    assert "secret" not in payload, "the stored payload keeps the webhook secret"
    tv = payload["tv"]
    assert_written(tv["entry_price"], price, "stored entry price")
    intent_side = payload.get("execution_intent", {}).get("side")
    assert intent_side == side, f"stored side {intent_side!r}, expected {side!r}"
