"""Market rules (the exchange's filters) for one symbol on one exchange."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.domain.enums import MarketType

__all__ = ["MarketRules", "normalise_symbol"]


@dataclass(frozen=True, slots=True)
class MarketRules:
    """Tick size, step size, minimums and fees of one market.

    A field is ``None`` when the exchange's metadata did not carry it (SPEC §5: incomplete
    metadata); ``is_complete`` tells whether orders can be sized without fallback rules.
    """

    exchange: str
    symbol: str  # exchange market id, e.g. "BTCUSDT"
    base: str
    quote: str
    tick_size: Decimal | None
    step_size: Decimal | None
    min_qty: Decimal | None
    min_notional: Decimal | None
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    market_type: MarketType = MarketType.SPOT

    @property
    def is_complete(self) -> bool:
        return None not in (self.tick_size, self.step_size, self.min_qty, self.min_notional)


def normalise_symbol(symbol: str) -> str:
    """Map ``BTC/USDT``, ``btcusdt``, ``BINANCE:BTCUSDT`` or ``BTC/USDT:USDT`` to ``BTCUSDT``."""
    text = symbol.strip().upper()
    if ":" in text:
        head, _, tail = text.partition(":")
        # "BINANCE:BTCUSDT" (TradingView prefix) or "BTC/USDT:USDT" (ccxt linear suffix)
        text = head if "/" in head else tail
    return text.replace("/", "").replace("-", "").replace("_", "")
