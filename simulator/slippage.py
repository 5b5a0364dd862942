"""Slippage models: the price levels a taker order (market, or marketable limit) fills at.

Prices are integers in units of the market's tick. A model yields ``(price_ticks,
quantity)`` levels from the best outward; ``quantity`` ``None`` means unlimited depth.
The default, :class:`NoSlippage`, fills everything at the current price.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from engine.domain import round_down, to_decimal

__all__ = [
    "SlippageModel",
    "NoSlippage",
    "FixedBpsSlippage",
    "SyntheticBook",
    "slippage_from_spec",
]

_BPS = Decimal(10_000)


def _shift(price_ticks: int, bps: Decimal, side: str) -> int:
    """Move ``price_ticks`` by ``bps`` against the taker (up for buys, down for sells)."""
    if side == "buy":
        moved = Decimal(price_ticks) * (1 + bps / _BPS)
        return int(moved.to_integral_value(rounding=ROUND_CEILING))
    moved = Decimal(price_ticks) * (1 - bps / _BPS)
    return int(moved.to_integral_value(rounding=ROUND_FLOOR))


class SlippageModel(Protocol):
    def levels(
        self, price_ticks: int, side: str, tick: Decimal, step: Decimal
    ) -> Iterator[tuple[int, Decimal | None]]: ...


@dataclass(frozen=True, slots=True)
class NoSlippage:
    """Unlimited depth at the current price."""

    def levels(
        self, price_ticks: int, side: str, tick: Decimal, step: Decimal
    ) -> Iterator[tuple[int, Decimal | None]]:
        yield price_ticks, None


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    """Unlimited depth at the current price moved ``bps`` against the taker (rounded to the
    tick away from the taker's favour)."""

    bps: Decimal

    def __post_init__(self) -> None:
        if self.bps < 0:
            raise ValueError(f"bps: must be >= 0, got {self.bps}")

    def levels(
        self, price_ticks: int, side: str, tick: Decimal, step: Decimal
    ) -> Iterator[tuple[int, Decimal | None]]:
        yield _shift(price_ticks, self.bps, side), None


@dataclass(frozen=True, slots=True)
class SyntheticBook:
    """A synthetic order book: level ``i`` (0-based) sits ``first_bps + i × level_bps`` away
    from the current price and holds ``level_notional`` of quote (its base quantity rounded
    down to the step, at least one step). A taker walks the levels."""

    level_notional: Decimal
    level_bps: Decimal
    first_bps: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.level_notional <= 0:
            raise ValueError("level_notional: must be > 0")
        if self.level_bps <= 0:
            raise ValueError("level_bps: must be > 0")
        if self.first_bps < 0:
            raise ValueError("first_bps: must be >= 0")

    def levels(
        self, price_ticks: int, side: str, tick: Decimal, step: Decimal
    ) -> Iterator[tuple[int, Decimal | None]]:
        index = 0
        while True:
            level_ticks = _shift(price_ticks, self.first_bps + index * self.level_bps, side)
            if level_ticks <= 0:
                return
            quantity = round_down(self.level_notional / (tick * level_ticks), step)
            yield level_ticks, max(quantity, step)
            index += 1


def slippage_from_spec(spec: dict[str, object] | None) -> SlippageModel:
    """``None``/``{"model": "none"}``, ``{"model": "fixed_bps", "bps": "5"}`` or
    ``{"model": "book", "level_notional": "50000", "level_bps": "2", "first_bps": "0"}``."""
    if not spec:
        return NoSlippage()
    model = spec.get("model", "none")
    if model == "none":
        return NoSlippage()
    if model == "fixed_bps":
        return FixedBpsSlippage(to_decimal(spec.get("bps", 0), field="slippage.bps"))
    if model == "book":
        return SyntheticBook(
            level_notional=to_decimal(spec.get("level_notional"), field="slippage.level_notional"),
            level_bps=to_decimal(spec.get("level_bps"), field="slippage.level_bps"),
            first_bps=to_decimal(spec.get("first_bps", 0), field="slippage.first_bps"),
        )
    raise ValueError(f"slippage.model: must be 'none', 'fixed_bps' or 'book', got {model!r}")
