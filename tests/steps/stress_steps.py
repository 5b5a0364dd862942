"""Stress steps: signal bursts (Tests 4.2 and 7.1) and the 24-hour run in simulated time
(Test 7.2), with memory traced and the service log's rotation checked."""

from __future__ import annotations

import gc
import itertools
import sys
import tracemalloc
from decimal import ROUND_DOWN, Decimal

from pytest_bdd import then, when

from tests.steps.signal_steps import entry_flags, exit_flags
from tests.steps.support import dec, step_parser
from tests.steps.world import World

__all__ = ["SEED_SYMBOLS", "distinct_keys", "day_path"]

SEED_SYMBOLS = (
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "DOTUSDT", "XRPUSDT",
    "TRXUSDT", "DOGEUSDT", "ADAUSDT", "GALAUSDT",
)  # fmt: skip
SEED_PRICES = {
    "BTCUSDT": Decimal("95992.3"), "ETHUSDT": Decimal("3394.0"), "SOLUSDT": Decimal("125.97"),
    "DOTUSDT": Decimal("2.075"), "XRPUSDT": Decimal("1.874"), "TRXUSDT": Decimal("0.2468"),
    "DOGEUSDT": Decimal("0.195"), "ADAUSDT": Decimal("0.387"), "GALAUSDT": Decimal("0.0066"),
}  # fmt: skip
TIMEFRAMES = (15, 60, 240, 1440, 10080, 43200)
EXCHANGES = ("binance", "bybit")


def distinct_keys(count: int) -> list[tuple[str, str, int]]:
    """(exchange, symbol, timeframe) keys: timeframe-major, then exchange, then symbol."""
    keys = [
        (exchange, symbol, timeframe)
        for timeframe, exchange, symbol in itertools.product(TIMEFRAMES, EXCHANGES, SEED_SYMBOLS)
    ]
    if count > len(keys):
        raise AssertionError(f"only {len(keys)} distinct keys, {count} asked")
    return keys[:count]


# ---------------------------------------------------------------------------------- bursts
@when(
    step_parser(
        "the plan's {count:d} signals for BTC1USDT to BTC{last:d}USDT on {exchange:Ex} "
        "are sent at once"
    )
)
def unknown_burst(world: World, count: int, last: int, exchange: str) -> None:
    assert count == last, "the plan's burst names BTC1USDT to BTC<count>USDT"
    flags = [
        {
            "exchange": exchange.upper(),
            "symbol": f"BTC{i}USDT",
            "timeframe": "60",
            "side": "long",
            "type": "signal",
        }
        for i in range(1, count + 1)
    ]
    world.batch = world.send_concurrently(flags)


@when(step_parser("{count:d} distinct long signals are sent at once"))
def distinct_burst(world: World, count: int) -> None:
    flags = [entry_flags("long", s, tf, ex) for ex, s, tf in distinct_keys(count)]
    world.batch = world.send_concurrently(flags)


@when(step_parser("{count:d} distinct long signals are sent in a rapid sequence"))
def distinct_sequence(world: World, count: int) -> None:
    world.batch = [
        world.send_webhook(entry_flags("long", s, tf, ex)) for ex, s, tf in distinct_keys(count)
    ]


@then(step_parser("every one of the {count:d} signals has a stored outcome"))
def every_stored(world: World, count: int) -> None:
    assert len(world.batch) == count, f"{len(world.batch)} signals in the last batch"
    stored = {s["signal_id"]: s for s in world.signals()}
    for sent in world.batch:
        assert sent.status_code == 202, f"answered {sent.status_code}: {sent.body}"
        signal_id = sent.body.get("signal_id")
        assert signal_id in stored, f"signal {signal_id} ({sent.flags['symbol']}) not stored"
        assert stored[signal_id]["outcome"] == sent.outcome, (stored[signal_id], sent.body)


@then(step_parser('{count:d} of them have outcome "{outcome}"'))
def count_outcome(world: World, count: int, outcome: str) -> None:
    got = [s for s in world.batch if s.outcome == outcome]
    tally = {
        o: sum(1 for s in world.batch if s.outcome == o) for o in {s.outcome for s in world.batch}
    }
    assert len(got) == count, f"{len(got)} with outcome {outcome!r}; all outcomes: {tally}"


@then(step_parser('{count:d} of them have outcome "{outcome}" with reason "{reason}"'))
def count_outcome_reason(world: World, count: int, outcome: str, reason: str) -> None:
    got = [s for s in world.batch if s.outcome == outcome and s.reason == reason]
    assert len(got) == count, f"{len(got)} {outcome}/{reason}: {[s.body for s in world.batch][:5]}"


@then(step_parser("the queue holds {count:d} signals in the order they were sent"))
def queue_in_order(world: World, count: int) -> None:
    queue = sorted(world.queue(), key=lambda q: int(q["rank"]))
    assert len(queue) == count, f"queue length {len(queue)}"
    sent = [
        (s.flags["exchange"].lower(), s.flags["symbol"], int(s.flags["timeframe"]))
        for s in world.batch
        if s.outcome == "queued"
    ]
    ranked = [(q["exchange"], q["symbol"], int(q["timeframe"])) for q in queue]
    assert ranked == sent, f"queue order {ranked[:6]}..., sent order {sent[:6]}..."


# ---------------------------------------------------------------------------------- 24 hours
DAY_KEYS = (("binance", "BTCUSDT", 60), ("binance", "ETHUSDT", 60), ("bybit", "SOLUSDT", 60))
# relative price per half hour, a 6-step cycle through the seed grid's DCA levels (−0.5 %, −1 %)
# and its take-profits (+1 %, +2 %); each symbol starts the cycle at another phase
CYCLE = (
    Decimal("1"), Decimal("0.994"), Decimal("0.988"),
    Decimal("1.004"), Decimal("1.021"), Decimal("1.008"),
)  # fmt: skip
PATH_LEG_MINUTES = 30  # prices move to their next level every half hour
TICKS = {"BTCUSDT": Decimal("0.01"), "ETHUSDT": Decimal("0.01"), "SOLUSDT": Decimal("0.01")}


def day_path(steps: int, minutes: int) -> str:
    """The YAML path of the run: every half hour each symbol moves linearly to its next level."""
    lines = ["step: 1m", "timeline:"]
    for step in range(1, steps + 1):
        moves = []
        for phase, (_exchange, symbol, _tf) in enumerate(DAY_KEYS):
            level = CYCLE[(step + 2 * phase) % len(CYCLE)]
            target = (SEED_PRICES[symbol] * level / TICKS[symbol]).to_integral_value(
                rounding=ROUND_DOWN
            ) * TICKS[symbol]
            moves.append(f"{symbol}: {target} over {minutes}m")
        lines.append("  - {" + ", ".join(moves) + "}")
    return "\n".join(lines) + "\n"


def _traced_bytes() -> int:
    gc.collect()
    current, _peak = tracemalloc.get_traced_memory()
    return current


def _allocated_blocks() -> int:
    gc.collect()
    return sys.getallocatedblocks()


@when(
    step_parser(
        "{hours:d} hours are simulated with a signal every {minutes:d} minutes, "
        "memory traced over the last {traced:d} hours"
    )
)
def simulate_day(world: World, hours: int, minutes: int, traced: int) -> None:
    """Each key gets an entry every third signal; every fourth signal of a key (counted from
    a per-key offset) is an exit, so groups open, pyramid, take profit, exit and reopen, and
    two of the three are still open at the end."""
    steps = hours * 60 // minutes
    legs = hours * 60 // PATH_LEG_MINUTES
    world.admin("POST", "/admin/path", json={"yaml": day_path(legs, PATH_LEG_MINUTES)})
    world.backend.after_admin()
    traced_from = steps - traced * 60 // minutes
    warm_up = steps // 6  # hour 4: caches and the first groups have settled
    counts: dict[tuple[str, str, int], int] = {}
    outcomes: list[str | None] = []
    own_tracing = not tracemalloc.is_tracing()
    for step in range(steps):
        if step == warm_up:
            world.notes["blocks_at_warm_up"] = _allocated_blocks()
        if step == traced_from:
            if own_tracing:
                tracemalloc.start()
            world.notes["memory_at_trace_start"] = _traced_bytes()
        phase = DAY_KEYS.index(key := DAY_KEYS[step % len(DAY_KEYS)])
        seen = counts.get(key, 0)
        counts[key] = seen + 1
        exchange, symbol, timeframe = key
        if (seen + phase) % 4 == 3:
            sent = world.send_webhook(exit_flags(symbol, timeframe, exchange))
        else:
            sent = world.send_webhook(entry_flags("long", symbol, timeframe, exchange))
        assert sent.status_code == 202, f"step {step}: {sent.status_code} {sent.body}"
        outcomes.append(sent.outcome)
        world.advance(minutes * 60)
    world.notes["memory_at_end"] = _traced_bytes()
    if own_tracing:
        tracemalloc.stop()
    world.notes["blocks_at_end"] = _allocated_blocks()
    world.notes["day_outcomes"] = outcomes


@then("every open group's quantity matches its fills on the exchange")
def quantities_match(world: World) -> None:
    engine_orders = {o["client_order_id"]: o for o in world.engine_orders()}
    entry_purposes = ("entry", "dca")
    groups = world.positions("open")
    assert groups, "no group is open at the end of the run"
    for group in groups:
        net = Decimal(0)
        for order in world.exchange_orders(group["exchange"], group["symbol"]):
            mine = engine_orders.get(str(order["client_order_id"]))
            if mine is None or mine["group_id"] != group["group_id"]:
                continue
            filled = dec(order["filled_quantity"]) or Decimal(0)
            net += filled if mine["purpose"] in entry_purposes else -filled
        assert net == Decimal(group["open_quantity"]), (
            f"{group['symbol']}: engine open {group['open_quantity']}, exchange fills net {net}"
        )


@then(step_parser("traced memory grew by less than {megabytes:d} MB over those hours"))
def memory_flat(world: World, megabytes: int) -> None:
    grown = world.notes["memory_at_end"] - world.notes["memory_at_trace_start"]
    world.notes["memory_growth_bytes"] = grown
    assert grown < megabytes * 1024 * 1024, f"traced memory grew by {grown / 1e6:.2f} MB"


@then(
    step_parser(
        "the interpreter holds fewer than {count:d} more memory blocks at the end than at hour 4"
    )
)
def blocks_flat(world: World, count: int) -> None:
    grown = world.notes["blocks_at_end"] - world.notes["blocks_at_warm_up"]
    world.notes["blocks_growth"] = grown
    assert grown < count, f"{grown} more allocated blocks at the end than at hour 4"


@then("the service log has rotated at least once")
def log_rotated(world: World) -> None:
    log_dir = world.backend.data_dir / "logs"
    rotated = sorted(p.name for p in log_dir.glob("qtrade.log.*"))
    assert rotated, f"no rotated log file in {log_dir}: {sorted(p.name for p in log_dir.iterdir())}"
    assert (log_dir / "qtrade.log").exists(), "the live log file is missing after rotation"
