"""Builders for the engine-maths tests (precision, grid, take-profit, offset, ranking)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.domain import MarketRules

__all__ = ["D", "Level", "Fallback", "btcusdt_rules", "rules", "seed_levels"]


def D(text: str | int) -> Decimal:
    """Short Decimal constructor for test literals (from a string or an int, never a float)."""
    return Decimal(text)


@dataclass(frozen=True, slots=True)
class Level:
    """Stand-in for engine.config.GridLevel (same attribute names)."""

    gap_percent: Decimal
    weight_percent: Decimal
    tp_percent: Decimal


@dataclass(frozen=True, slots=True)
class Fallback:
    """Stand-in for engine.config.FallbackRules (same attribute names)."""

    tick_size: Decimal = Decimal("0.00000001")
    step_size: Decimal = Decimal("0.000001")
    min_qty: Decimal = Decimal("0.000001")
    min_notional: Decimal = Decimal("1")


def rules(
    *,
    tick: str | None = "0.01",
    step: str | None = "0.00001",
    min_qty: str | None = "0.00001",
    min_notional: str | None = "5",
    symbol: str = "BTCUSDT",
    exchange: str = "binance",
) -> MarketRules:
    """Market rules; pass ``None`` for a field to make the metadata incomplete."""
    return MarketRules(
        exchange=exchange,
        symbol=symbol,
        base=symbol.removesuffix("USDT"),
        quote="USDT",
        tick_size=None if tick is None else Decimal(tick),
        step_size=None if step is None else Decimal(step),
        min_qty=None if min_qty is None else Decimal(min_qty),
        min_notional=None if min_notional is None else Decimal(min_notional),
    )


def btcusdt_rules() -> MarketRules:
    """Binance BTCUSDT spot filters used by SPEC §4's worked example."""
    return rules()


def seed_levels() -> tuple[Level, ...]:
    """The seed user's 3-level grid: gap 0/-0.5/-1, weight 20/30/50, tp 1/1/2."""
    return (
        Level(D("0"), D("20"), D("1")),
        Level(D("-0.5"), D("30"), D("1")),
        Level(D("-1"), D("50"), D("2")),
    )
