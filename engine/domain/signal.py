"""The normalised signal: one webhook or prediction turned into an intent (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.domain.enums import PositionSide, SignalType

__all__ = ["Signal", "GroupKey"]


@dataclass(frozen=True, slots=True)
class GroupKey:
    """Identity of a position group: (user, exchange, symbol, timeframe, side)."""

    user_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: PositionSide

    def as_str(self) -> str:
        return f"{self.user_id}:{self.exchange}:{self.symbol}:{self.timeframe}:{self.side.value}"


@dataclass(frozen=True, slots=True)
class Signal:
    """A parsed, validated TradingView signal.

    ``side`` is ``None`` for exits that name no side (the open group's side is used).
    ``capital_usd`` is ``None`` when the signal carried no size (the user's
    ``default_capital_usd`` applies) and ``entry_price`` is ``None`` when the exchange's last
    price must be used. ``order_size``/``size_type`` keep the raw sizing so capital can be
    recomputed from the price when the entry price is only known later.
    """

    signal_id: str
    user_id: str
    exchange: str  # lower-case exchange name, e.g. "binance"
    symbol: str  # normalised market id, e.g. "BTCUSDT"
    timeframe: int  # minutes
    type: SignalType
    side: PositionSide | None
    entry_price: Decimal | None
    order_size: Decimal | None
    size_type: str  # "contracts" | "base" | "quote"
    fingerprint: str
    received_at_ms: int
    close_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trade_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def group_key(self, side: PositionSide | None = None) -> GroupKey:
        chosen = side or self.side
        if chosen is None:
            raise ValueError("signal has no side")
        return GroupKey(self.user_id, self.exchange, self.symbol, self.timeframe, chosen)
