"""``qtrade demo``: the seed's Test 1.1 signal through the engine core, printed step by step.

It loads the seed user (``scenarios/users/maaz.json``) and Binance's BTCUSDT filters, sends
the Test 1.1 webhook payload (BTCUSDT, 60, buy/long, entry 95992.3, 0.001 contracts), prints
the leg-0 order the engine decides, then reports leg 0 filled at 95992.3 and prints the DCA
legs and take-profits it decides (SPEC §4). No exchange is involved: the demo plays the
exchange's replies (accepted, filled) itself, with zero fees.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import ConfigError, load_user_config
from engine.core import Engine
from engine.domain import MarketRules, MarketType, PlaceOrder
from engine.domain.events import (
    MarketRulesLoaded,
    OrderAccepted,
    OrderFilled,
    PriceMoved,
    SignalReceived,
    UserConfigured,
)
from engine.signals import parse_signal

__all__ = ["register", "run_demo", "TEST_1_1_PAYLOAD", "BINANCE_BTCUSDT"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "scenarios" / "users" / "maaz.json"
START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z: demo engine time (no wall clock)

BINANCE_BTCUSDT = MarketRules(
    exchange="binance",
    symbol="BTCUSDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.00001"),
    min_qty=Decimal("0.00001"),
    min_notional=Decimal("5"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
    market_type=MarketType.SPOT,
)

# The seed's Test 1.1 (simulate_webhook.py arguments) as a TradingView payload.
TEST_1_1_PAYLOAD: dict[str, Any] = {
    "source": "tradingview",
    "timestamp": "2025-01-01T00:00:00Z",
    "tv": {
        "exchange": "BINANCE",
        "symbol": "BTCUSDT",
        "timeframe": 60,
        "action": "buy",
        "market_position": "long",
        "entry_price": "95992.3",
        "close_price": "95992.3",
        "order_size": "0.001",
    },
    "execution_intent": {"type": "signal", "side": "long", "position_size_type": "contracts"},
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the seed's first signal (Test 1.1) through the engine core and print it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help="user config file (default: scenarios/users/maaz.json)",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    try:
        lines = run_demo(args.config)
    except ConfigError as exc:
        print(f"qtrade demo: invalid config {args.config}:\n{exc}")
        return 2
    print("\n".join(lines))
    return 0


def _order_line(command: PlaceOrder) -> str:
    parts = command.client_order_id.split("-")
    leg = parts[3].removeprefix("l")
    kind = {"entry": "leg 0 (base)", "dca": f"leg {leg} (DCA)", "tp": f"TP of leg {leg}"}
    label = kind.get(command.purpose.value, command.purpose.value)
    price = "at market" if command.price is None else f"@ {command.price}"
    text = (
        f"  {label:<14} {command.side.value.upper():<4} {command.type.value:<6} "
        f"qty {command.quantity} {price}"
    )
    return f"{text:<62} id {command.client_order_id}"


def _places(commands: list[Any]) -> list[PlaceOrder]:
    return [command for command in commands if isinstance(command, PlaceOrder)]


def run_demo(config_path: Path = DEFAULT_CONFIG) -> list[str]:
    """Run the demo and return the lines it prints."""
    config = load_user_config(config_path)
    user_id = config.username or config.id or "demo"
    engine = Engine(namespace="demo")
    now = START_MS
    lines = [
        "qtrade demo: the seed's Test 1.1 signal through the engine core",
        f"user {user_id} ({config_path.name}); grid "
        + ", ".join(
            f"gap {level.gap_percent}% weight {level.weight_percent}% tp {level.tp_percent}%"
            for level in config.dca_grid_config.levels
        ),
        "Binance BTCUSDT filters: tick 0.01, step 0.00001, min qty 0.00001, min notional 5",
    ]
    engine.handle(UserConfigured(user_id, config, now))
    engine.handle(MarketRulesLoaded("binance", (BINANCE_BTCUSDT,), now))
    engine.handle(PriceMoved("binance", "BTCUSDT", Decimal("95992.3"), now))
    signal = parse_signal(TEST_1_1_PAYLOAD, user_id=user_id, signal_id="t1_1", received_at_ms=now)
    decision = engine.handle(SignalReceived(signal, now))
    outcome = decision.outcomes[0]
    lines += [
        "",
        "signal: BINANCE BTCUSDT 60 buy long, entry 95992.3, order size 0.001 contracts",
        "        capital 0.001 x 95992.3 = 95.9923 USDT",
        f"outcome: {outcome.outcome}"
        + (f" ({outcome.reason})" if outcome.reason else "")
        + (f", group {outcome.group_id}" if outcome.group_id else ""),
        "",
        "1. orders decided for the signal:",
    ]
    placed = _places(decision.commands)
    lines += [_order_line(command) for command in placed]
    if outcome.group_id is None or not placed:
        return lines
    leg0 = placed[0]
    now += 1_000
    engine.handle(OrderAccepted(leg0.client_order_id, "demo-1", now))
    decision = engine.handle(
        OrderFilled(
            leg0.client_order_id,
            leg0.quantity,
            Decimal("95992.3"),
            Decimal(0),
            "USDT",
            now,
            "demo-fill-1",
        )
    )
    lines += ["", f"2. leg 0 filled: {leg0.quantity} @ 95992.3; orders decided:"]
    follow = _places(decision.commands)
    lines += [_order_line(command) for command in follow]
    lines += ["", "3. when the DCA legs fill at their limit prices, the engine adds their TPs:"]
    for index, command in enumerate(c for c in follow if c.purpose.value == "dca"):
        assert command.price is not None
        now += 60_000
        engine.handle(OrderAccepted(command.client_order_id, f"demo-{index + 2}", now))
        engine.handle(PriceMoved("binance", "BTCUSDT", command.price, now))
        decision = engine.handle(
            OrderFilled(
                command.client_order_id,
                command.quantity,
                command.price,
                Decimal(0),
                "USDT",
                now,
                f"demo-fill-{index + 2}",
            )
        )
        lines += [_order_line(c) for c in _places(decision.commands)]
    group = engine.group(outcome.group_id)
    assert group is not None
    lines += [
        "",
        f"group {group.group_id}: status {group.status}, open quantity {group.open_quantity}, "
        f"average entry {group.average_entry}",
    ]
    return lines
