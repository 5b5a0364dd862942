"""Benchmark: ``Engine.snapshot()`` and ``Engine.restore()`` on states of 1, 10 and 50 open
groups (one user, the seed grid, a realistic TradingView payload kept on every signal).

Each group is on its own symbol and holds one pyramid: leg 0 filled at market, leg 1 filled
from its resting DCA order, leg 2 resting, a resting TP per filled leg (5 orders), and the
user has one queued signal per 10 groups. Prints JSON: per state size, the median and p95
milliseconds of ``snapshot`` and ``restore``, and, as the baseline measured in the same run,
``json.dumps`` / ``json.loads`` of that same snapshot dict (the work any store does anyway).

    .venv/bin/python benchmarks/engine_snapshot.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import parse_user_config
from engine.core import Engine
from engine.domain import (
    MarketRules,
    MarketType,
    OrderType,
    PlaceOrder,
    PositionSide,
    Signal,
    SignalType,
)
from engine.domain.events import (
    Event,
    MarketRulesLoaded,
    OrderAccepted,
    OrderFilled,
    PriceMoved,
    SignalReceived,
    UserConfigured,
)

__all__ = ["build_engine", "run", "main"]

SEED_USER = Path(__file__).resolve().parents[1] / "scenarios" / "users" / "maaz.json"
T0 = 1_750_000_000_000
PRICE = Decimal("95992.3")


def _config(groups: int) -> Any:
    data = json.loads(SEED_USER.read_text(), parse_float=Decimal)
    data["risk_config"].update(
        {
            "max_open_positions_global": max(groups, 1),
            "max_total_exposure_usd": "10000000",
        }
    )
    return parse_user_config(data)


def _rules(count: int) -> tuple[MarketRules, ...]:
    return tuple(
        MarketRules(
            exchange="binance",
            symbol=f"S{index}USDT",
            base=f"S{index}",
            quote="USDT",
            tick_size=Decimal("0.01"),
            step_size=Decimal("0.00001"),
            min_qty=Decimal("0.00001"),
            min_notional=Decimal("5"),
            maker_fee=Decimal("0.001"),
            taker_fee=Decimal("0.001"),
            market_type=MarketType.SPOT,
        )
        for index in range(count)
    )


def _signal(index: int, symbol: str, at_ms: int) -> Signal:
    payload = {
        "source": "tradingview",
        "timestamp": "2025-06-15T15:06:40Z",
        "tv": {
            "exchange": "binance",
            "symbol": symbol,
            "timeframe": "60",
            "action": "buy",
            "market_position": "long",
            "market_position_size": "0.001",
            "prev_market_position": "flat",
            "prev_market_position_size": "0",
            "entry_price": str(PRICE),
            "close_price": str(PRICE),
            "order_size": "0.001",
        },
        "strategy_info": {
            "trade_id": f"T{index}",
            "alert_name": "DCA long",
            "alert_message": "Long entry on the 60 minute chart",
        },
        "execution_intent": {
            "type": "signal",
            "side": "long",
            "position_size_type": "contracts",
            "precision_mode": "auto",
        },
        "risk": {"stop_loss": None, "take_profit": None, "max_slippage_percent": "1"},
    }
    return Signal(
        signal_id=f"sig{index}",
        user_id="maaz",
        exchange="binance",
        symbol=symbol,
        timeframe=60,
        type=SignalType.SIGNAL,
        side=PositionSide.LONG,
        entry_price=PRICE,
        order_size=Decimal("0.001"),
        size_type="contracts",
        fingerprint=f"fp{index}",
        received_at_ms=at_ms,
        raw=payload,
    )


class _Venue:
    """Acknowledges every order and fills market orders at once at the symbol's mark."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.marks: dict[str, Decimal] = {}
        self.resting: dict[str, PlaceOrder] = {}
        self.trade = 0

    def feed(self, event: Event) -> None:
        pending = [event]
        while pending:
            decision = self.engine.handle(pending.pop(0))
            for command in decision.commands:
                if isinstance(command, PlaceOrder):
                    pending.extend(self._place(command))

    def _place(self, command: PlaceOrder) -> list[Event]:
        events: list[Event] = [OrderAccepted(command.client_order_id, "x", T0)]
        if command.type is OrderType.MARKET:
            events.append(self.fill(command, self.marks[command.symbol]))
        else:
            self.resting[command.client_order_id] = command
        return events

    def fill(self, command: PlaceOrder, price: Decimal) -> OrderFilled:
        self.trade += 1
        return OrderFilled(
            command.client_order_id,
            command.quantity,
            price,
            command.quantity * price * Decimal("0.001"),
            "USDT",
            T0,
            f"t{self.trade}",
        )


def build_engine(groups: int) -> Engine:
    """An engine holding ``groups`` open groups (see the module docstring)."""
    engine = Engine("bench")
    venue = _Venue(engine)
    rules = _rules(groups + groups // 10)
    venue.feed(UserConfigured("maaz", _config(groups), T0))
    venue.feed(MarketRulesLoaded("binance", rules, T0))
    for index, rule in enumerate(rules):
        venue.marks[rule.symbol] = PRICE
        venue.feed(PriceMoved("binance", rule.symbol, PRICE, T0))
        venue.feed(SignalReceived(_signal(index, rule.symbol, T0), T0))
        dca = [
            command
            for command in venue.resting.values()
            if command.symbol == rule.symbol and command.purpose.value == "dca"
        ]
        if dca:
            assert dca[0].price is not None
            venue.feed(venue.fill(dca[0], dca[0].price))
    return engine


def _timed(function: Any, repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 4),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 4),
    }


def run(sizes: tuple[int, ...] = (1, 10, 50), repeat: int = 200) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        engine = build_engine(size)
        snapshot = engine.snapshot()
        text = json.dumps(snapshot)
        assert Engine.restore(json.loads(text)).snapshot() == snapshot
        results[f"{size}_groups"] = {
            "open_groups": len([g for g in engine.groups() if g.status != "closed"]),
            "orders": len(engine.orders()),
            "json_bytes": len(text),
            "snapshot": _timed(engine.snapshot, repeat),
            "restore": _timed(lambda snap=json.loads(text): Engine.restore(snap), repeat),
            "baseline_json_dumps": _timed(lambda snap=snapshot: json.dumps(snap), repeat),
            "baseline_json_loads": _timed(lambda text=text: json.loads(text), repeat),
        }
    return {
        "benchmark": "engine_snapshot",
        "python": platform.python_version(),
        "repeat": repeat,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(run(repeat=args.repeat), indent=2))


if __name__ == "__main__":
    main()
