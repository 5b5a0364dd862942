"""Test support for the engine core: config, rules and signal builders, and a small
exchange stand-in that drives an :class:`~engine.core.Engine` like a venue would.

The stand-in is deliberately simple and is *not* the simulator: it acknowledges every order,
fills market orders at the current price, fills a marketable limit at once at the current
price, and fills resting limits at their limit price when a price step crosses them
(buy: price <= limit, sell: price >= limit). Fees are ``fee_rate`` × notional in the quote
currency (0 by default so hand arithmetic stays short). With ``auto_fill=False`` nothing
fills by itself and tests drive fills with :meth:`Harness.fill`.

For the symbols in ``base_fee_symbols`` the stand-in behaves like Binance spot: a buy pays
``fee_rate`` × quantity in the base asset (the account receives the quantity less the fee),
and it keeps the base balance those fills leave: a sell for more than the free balance (held
minus what open sells lock) is rejected with ``insufficient_balance``, as the exchange would.
"""

from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import UserConfig, parse_user_config
from engine.core import Engine
from engine.domain import (
    AuditEvent,
    CancelOrder,
    Command,
    Decision,
    MarketRules,
    MarketType,
    OrderSide,
    OrderType,
    PlaceOrder,
    PositionSide,
    RefreshMarketRules,
    RiskAction,
    Signal,
    SignalOutcome,
    SignalType,
)
from engine.domain.events import (
    Event,
    MarketRulesLoaded,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PriceMoved,
    SignalReceived,
    TimePassed,
    UserConfigured,
)

__all__ = [
    "D",
    "T0",
    "MAAZ_PATH",
    "maaz_dict",
    "make_config",
    "make_rules",
    "BTC_RULES",
    "make_signal",
    "ExchangeOrder",
    "Harness",
]

MAAZ_PATH = Path(__file__).resolve().parents[2] / "scenarios" / "users" / "maaz.json"
T0 = 1_750_000_000_000  # 2025-06-15T15:06:40Z: engine time at the start of every test


def D(value: str | int) -> Decimal:
    return Decimal(value)


def maaz_dict() -> dict[str, Any]:
    """The seed user's config as a dict (Decimals kept exact)."""
    loaded: dict[str, Any] = json.loads(MAAZ_PATH.read_text(), parse_float=Decimal)
    return loaded


def make_config(
    *, risk: dict[str, Any] | None = None, grid: dict[str, Any] | None = None, **top: Any
) -> UserConfig:
    """The seed user's config with ``risk_config`` / ``dca_grid_config`` keys overridden."""
    data = copy.deepcopy(maaz_dict())
    data["risk_config"].update(risk or {})
    data["dca_grid_config"].update(grid or {})
    data.update(top)
    return parse_user_config(data)


def make_rules(
    symbol: str = "BTCUSDT",
    *,
    exchange: str = "binance",
    tick: str | None = "0.01",
    step: str | None = "0.00001",
    min_qty: str | None = "0.00001",
    min_notional: str | None = "5",
    fee: str = "0.001",
    market_type: MarketType = MarketType.SPOT,
) -> MarketRules:
    base = symbol.removesuffix("USDT")
    return MarketRules(
        exchange=exchange,
        symbol=symbol,
        base=base,
        quote="USDT",
        tick_size=None if tick is None else D(tick),
        step_size=None if step is None else D(step),
        min_qty=None if min_qty is None else D(min_qty),
        min_notional=None if min_notional is None else D(min_notional),
        maker_fee=D(fee),
        taker_fee=D(fee),
        market_type=market_type,
    )


BTC_RULES = make_rules()

_signal_counter = 0


def make_signal(
    *,
    symbol: str = "BTCUSDT",
    exchange: str = "binance",
    timeframe: int = 60,
    side: str | None = "long",
    type: str = "signal",
    entry_price: str | None = "95992.3",
    order_size: str | None = "0.001",
    size_type: str = "contracts",
    user_id: str = "maaz",
    signal_id: str | None = None,
    fingerprint: str | None = None,
    stop_loss: str | None = None,
    take_profit: str | None = None,
    at_ms: int = T0,
) -> Signal:
    """A normalised signal. Each call gets a fresh id and fingerprint unless given."""
    global _signal_counter
    _signal_counter += 1
    sid = signal_id or f"sig{_signal_counter}"
    return Signal(
        signal_id=sid,
        user_id=user_id,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        type=SignalType(type),
        side=None if side is None else PositionSide(side),
        entry_price=None if entry_price is None else D(entry_price),
        order_size=None if order_size is None else D(order_size),
        size_type=size_type,
        fingerprint=fingerprint or f"fp-{sid}",
        received_at_ms=at_ms,
        stop_loss=None if stop_loss is None else D(stop_loss),
        take_profit=None if take_profit is None else D(take_profit),
        raw={"tv": {"symbol": symbol, "entry_price": entry_price}},
    )


@dataclass
class ExchangeOrder:
    """The stand-in exchange's copy of one order."""

    command: PlaceOrder
    filled: Decimal = Decimal(0)
    status: str = "open"  # open | filled | cancelled | rejected

    @property
    def remaining(self) -> Decimal:
        return self.command.quantity - self.filled


@dataclass
class Harness:
    """An engine plus an exchange stand-in; every decision is recorded."""

    engine: Engine = field(default_factory=Engine)
    now: int = T0
    auto_fill: bool = True
    auto_cancel: bool = True  # False: cancels wait for :meth:`confirm_cancel`
    fee_rate: Decimal = Decimal(0)
    base_fee_symbols: tuple[str, ...] = ()  # buys pay their fee in the base asset
    base_held: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    reject_next: dict[str, str] = field(default_factory=dict)  # purpose -> reason
    prices: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    book: dict[str, ExchangeOrder] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    outcomes: list[SignalOutcome] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    risk_actions: list[RiskAction] = field(default_factory=list)
    fills: list[OrderFilled] = field(default_factory=list)
    _trade: int = 0

    # --------------------------------------------------------------- set-up
    @classmethod
    def seed(
        cls,
        config: UserConfig | None = None,
        *,
        rules: tuple[MarketRules, ...] = (BTC_RULES,),
        user_id: str = "maaz",
        **kwargs: Any,
    ) -> Harness:
        harness = cls(**kwargs)
        harness.configure(config or make_config(), user_id=user_id)
        by_exchange: dict[str, list[MarketRules]] = {}
        for rule in rules:
            by_exchange.setdefault(rule.exchange, []).append(rule)
        for exchange, items in by_exchange.items():
            harness.feed(MarketRulesLoaded(exchange, tuple(items), harness.now))
        return harness

    def configure(self, config: UserConfig, *, user_id: str = "maaz") -> Decision:
        return self.feed(UserConfigured(user_id, config, self.now))

    # --------------------------------------------------------------- driving
    def feed(self, event: Event) -> Decision:
        """Hand ``event`` to the engine, then play the exchange until nothing is pending."""
        pending: deque[Event] = deque([event])
        first: Decision | None = None
        while pending:
            decision = self.engine.handle(pending.popleft())
            self._record(decision)
            first = first or decision
            for command in decision.commands:
                pending.extend(self._execute(command))
        assert first is not None
        return first

    def signal(self, **kwargs: Any) -> SignalOutcome:
        """Send a signal built by :func:`make_signal`; returns its outcome."""
        signal = make_signal(at_ms=self.now, **kwargs)
        return self.send(signal)

    def send(self, signal: Signal) -> SignalOutcome:
        start = len(self.outcomes)
        self.feed(SignalReceived(signal, self.now))
        mine = [o for o in self.outcomes[start:] if o.signal_id == signal.signal_id]
        assert mine, f"no outcome for {signal.signal_id}"
        return mine[0]

    def price(
        self, price: str | Decimal, symbol: str = "BTCUSDT", exchange: str = "binance"
    ) -> None:
        """One price step: resting limits it crosses fill first, then the engine sees it."""
        value = D(price) if isinstance(price, str) else price
        self.prices[(exchange, symbol)] = value
        events: list[Event] = []
        if self.auto_fill:
            for order in list(self.book.values()):
                command = order.command
                if order.status != "open" or command.type is not OrderType.LIMIT:
                    continue
                if (command.exchange, command.symbol) != (exchange, symbol):
                    continue
                assert command.price is not None
                crossed = (
                    value <= command.price
                    if command.side is OrderSide.BUY
                    else (value >= command.price)
                )
                if crossed:
                    events.append(self._fill_event(order, order.remaining, command.price))
        for event in events:
            self.feed(event)
        self.feed(PriceMoved(exchange, symbol, value, self.now))

    def path(self, *prices: str, symbol: str = "BTCUSDT", exchange: str = "binance") -> None:
        for value in prices:
            self.price(value, symbol=symbol, exchange=exchange)

    def advance(self, seconds: int) -> Decision:
        self.now += seconds * 1000
        return self.feed(TimePassed(self.now))

    def fill(self, client_order_id: str, quantity: str | Decimal, price: str | Decimal) -> None:
        """Fill part of an order by hand (tests that control fills)."""
        order = self.book[client_order_id]
        qty = D(quantity) if isinstance(quantity, str) else quantity
        px = D(price) if isinstance(price, str) else price
        self.feed(self._fill_event(order, qty, px))

    def confirm_cancel(self, client_order_id: str) -> None:
        """Report a held cancel (``auto_cancel=False``) as done, if the order is still open."""
        order = self.book[client_order_id]
        if order.status == "open":
            order.status = "cancelled"
            self.feed(OrderCancelled(client_order_id, self.now))

    # --------------------------------------------------------------- exchange stand-in
    def _fill_event(self, order: ExchangeOrder, quantity: Decimal, price: Decimal) -> OrderFilled:
        order.filled += quantity
        if order.filled >= order.command.quantity:
            order.status = "filled"
        self._trade += 1
        command = order.command
        fee, fee_asset = quantity * price * self.fee_rate, "USDT"
        if command.symbol in self.base_fee_symbols:
            market = (command.exchange, command.symbol)
            held = self.base_held.get(market, Decimal(0))
            if command.side is OrderSide.BUY:
                fee, fee_asset = quantity * self.fee_rate, command.symbol.removesuffix("USDT")
                self.base_held[market] = held + quantity - fee
            else:
                self.base_held[market] = held - quantity
        event = OrderFilled(
            client_order_id=command.client_order_id,
            quantity=quantity,
            price=price,
            fee=fee,
            fee_asset=fee_asset,
            at_ms=self.now,
            trade_id=f"t{self._trade}",
        )
        self.fills.append(event)
        return event

    def _execute(self, command: Command) -> list[Event]:
        if isinstance(command, RefreshMarketRules):
            return []
        if isinstance(command, CancelOrder):
            order = self.book.get(command.client_order_id)
            if order is None or order.status != "open" or not self.auto_cancel:
                return []
            order.status = "cancelled"
            return [OrderCancelled(command.client_order_id, self.now)]
        assert isinstance(command, PlaceOrder)
        assert command.client_order_id not in self.book, "duplicate client order id"
        order = ExchangeOrder(command)
        self.book[command.client_order_id] = order
        reason = self.reject_next.pop(command.purpose.value, None)
        if (
            reason is None
            and command.side is OrderSide.SELL
            and command.quantity
            > self.free_base(command.exchange, command.symbol, excluding=command.client_order_id)
        ):
            reason = "insufficient_balance"
        if reason is not None:
            order.status = "rejected"
            return [OrderRejected(command.client_order_id, reason, "rejected by test", self.now)]
        events: list[Event] = [
            OrderAccepted(command.client_order_id, f"x{len(self.book)}", self.now)
        ]
        if not self.auto_fill:
            return events
        mark = self.prices.get((command.exchange, command.symbol))
        if command.type is OrderType.MARKET:
            assert mark is not None, "market order without a price"
            events.append(self._fill_event(order, command.quantity, mark))
        elif mark is not None:
            assert command.price is not None
            marketable = (
                mark <= command.price if command.side is OrderSide.BUY else (mark >= command.price)
            )
            if marketable:
                events.append(self._fill_event(order, command.quantity, mark))
        return events

    def _record(self, decision: Decision) -> None:
        self.decisions.append(decision)
        self.commands.extend(decision.commands)
        self.outcomes.extend(decision.outcomes)
        self.audit.extend(decision.audit)
        self.risk_actions.extend(decision.risk_actions)

    # --------------------------------------------------------------- inspection
    def placed(self, purpose: str | None = None, group_id: str | None = None) -> list[PlaceOrder]:
        return [
            c
            for c in self.commands
            if isinstance(c, PlaceOrder)
            and (purpose is None or c.purpose.value == purpose)
            and (group_id is None or c.group_id == group_id)
        ]

    def free_base(self, exchange: str, symbol: str, *, excluding: str = "") -> Decimal:
        """Base balance not locked by open sells (``base_fee_symbols`` only; else unlimited)."""
        if symbol not in self.base_fee_symbols:
            return Decimal("Infinity")
        locked = sum(
            (
                order.remaining
                for order in self.book.values()
                if order.status == "open"
                and order.command.side is OrderSide.SELL
                and (order.command.exchange, order.command.symbol) == (exchange, symbol)
                and order.command.client_order_id != excluding
            ),
            Decimal(0),
        )
        return self.base_held.get((exchange, symbol), Decimal(0)) - locked

    def rejected(self) -> list[ExchangeOrder]:
        return [o for o in self.book.values() if o.status == "rejected"]

    def cancels(self) -> list[CancelOrder]:
        return [c for c in self.commands if isinstance(c, CancelOrder)]

    def open_on_exchange(self, purpose: str | None = None) -> list[ExchangeOrder]:
        return [
            o
            for o in self.book.values()
            if o.status == "open" and (purpose is None or o.command.purpose.value == purpose)
        ]

    def messages(self) -> list[str]:
        return [event.message for event in self.audit]
