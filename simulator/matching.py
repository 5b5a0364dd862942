"""Matching: resting orders per market, the vectorised search for the next path tick that
crosses any of them, and taker fill planning.

Prices here are integers in units of the market's tick ("ticks"). A resting buy with limit
``L`` fills (at ``L``, as maker) on the first tick whose price is ``<= L``; a resting sell
on the first tick ``>= L``. Only the best buy and best sell matter for the search, so the
next crossing of a whole book is one numpy pass over the remaining ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from engine.domain import ZERO, round_down
from simulator.markets import SimMarket
from simulator.models import SimOrder, SimOrderStatus, SimTrade
from simulator.slippage import SlippageModel

__all__ = ["OrderState", "SymbolBook", "first_crossing", "plan_taker_fills", "TakerFill"]

_FIRST_CHUNK = 4096
_MAX_CHUNK = 1 << 20


@dataclass(slots=True)
class OrderState:
    """An order as the venue keeps it (mutable; callers get :class:`SimOrder` snapshots)."""

    order_id: str
    client_order_id: str
    api_key: str
    symbol: str
    side: str
    type: str
    price: Decimal | None
    limit_ticks: int | None
    quantity: Decimal | None
    quote_quantity: Decimal | None
    time_in_force: str
    post_only: bool
    reduce_only: bool
    created_ms: int
    updated_ms: int
    sequence: int
    status: SimOrderStatus = SimOrderStatus.NEW
    filled: Decimal = ZERO
    cumulative_quote: Decimal = ZERO
    fills: list[SimTrade] = field(default_factory=list)
    lock_asset: str = ""
    lock_per_unit: Decimal | None = None  # spot: quote per base (buys) or 1 (sells)
    locked: Decimal = ZERO
    reject_reason: str = ""
    exchange: str = ""

    @property
    def remaining(self) -> Decimal:
        return (self.quantity or ZERO) - self.filled

    def release_for(self, quantity: Decimal) -> Decimal:
        """The part of the lock freed when ``quantity`` more fills (all of it when the order
        becomes complete)."""
        if quantity >= self.remaining or self.locked == ZERO:
            return self.locked
        if self.lock_per_unit is not None:
            return quantity * self.lock_per_unit
        return self.locked * quantity / self.remaining

    def snapshot(self) -> SimOrder:
        return SimOrder(
            order_id=self.order_id,
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            price=self.price,
            quantity=self.quantity,
            quote_quantity=self.quote_quantity,
            filled_quantity=self.filled,
            cumulative_quote=self.cumulative_quote,
            status=self.status,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            created_ms=self.created_ms,
            updated_ms=self.updated_ms,
            fills=tuple(self.fills),
            reduce_only=self.reduce_only,
            reject_reason=self.reject_reason,
            exchange=self.exchange,
        )


@dataclass(slots=True)
class SymbolBook:
    """One venue's state for one market: price, resting orders, path ticks, trade tape."""

    market: SimMarket
    price_ticks: int
    price_ms: int
    buys: list[OrderState] = field(default_factory=list)  # best (highest) first
    sells: list[OrderState] = field(default_factory=list)  # best (lowest) first
    path_ticks: npt.NDArray[np.int64] | None = None
    history: list[tuple[int, int]] = field(default_factory=list)  # set prices (ms, ticks)
    tape: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)  # (ms, qty, quote)

    @property
    def price(self) -> Decimal:
        return self.market.tick * self.price_ticks

    def best_buy(self) -> int | None:
        return self.buys[0].limit_ticks if self.buys else None

    def best_sell(self) -> int | None:
        return self.sells[0].limit_ticks if self.sells else None

    def add(self, order: OrderState) -> None:
        assert order.limit_ticks is not None
        if order.side == "buy":
            self.buys.append(order)
            self.buys.sort(key=lambda o: (-(o.limit_ticks or 0), o.sequence))
        else:
            self.sells.append(order)
            self.sells.sort(key=lambda o: (o.limit_ticks or 0, o.sequence))

    def remove(self, order: OrderState) -> None:
        side = self.buys if order.side == "buy" else self.sells
        if order in side:
            side.remove(order)

    def crossing(self, price_ticks: int) -> list[OrderState]:
        """Resting orders a trade at ``price_ticks`` fills, in priority order (buys first)."""
        hit = [o for o in self.buys if (o.limit_ticks or 0) >= price_ticks]
        hit += [o for o in self.sells if (o.limit_ticks or 0) <= price_ticks]
        return hit

    def would_cross(self, price_ticks: int) -> bool:
        best_buy, best_sell = self.best_buy(), self.best_sell()
        return (best_buy is not None and price_ticks <= best_buy) or (
            best_sell is not None and price_ticks >= best_sell
        )


def first_crossing(
    ticks: npt.NDArray[np.int64],
    start: int,
    stop: int,
    best_buy: int | None,
    best_sell: int | None,
) -> int:
    """Index of the first tick in ``ticks[start:stop]`` at or below ``best_buy`` or at or
    above ``best_sell``; -1 if none. Scans in growing chunks so a near crossing is cheap and
    a far one costs one vectorised pass."""
    if (best_buy is None and best_sell is None) or start >= stop:
        return -1
    low = np.int64(best_buy) if best_buy is not None else None
    high = np.int64(best_sell) if best_sell is not None else None
    chunk = _FIRST_CHUNK
    position = start
    while position < stop:
        end = min(stop, position + chunk)
        window = ticks[position:end]
        if low is not None and high is not None:
            mask = (window <= low) | (window >= high)
        elif low is not None:
            mask = window <= low
        else:
            assert high is not None
            mask = window >= high
        hit = int(mask.argmax())
        if mask[hit]:
            return position + hit
        position = end
        chunk = min(chunk * 4, _MAX_CHUNK)
    return -1


@dataclass(frozen=True, slots=True)
class TakerFill:
    price_ticks: int
    quantity: Decimal


def plan_taker_fills(
    market: SimMarket,
    slippage: SlippageModel,
    price_ticks: int,
    side: str,
    *,
    quantity: Decimal | None,
    quote_quantity: Decimal | None,
    limit_ticks: int | None,
) -> list[TakerFill]:
    """Walk the slippage model's levels for a taker order sized by base ``quantity`` or by
    ``quote_quantity``, stopping at ``limit_ticks`` (marketable limits). Quantities are
    multiples of the step."""
    tick, step = market.tick, market.step_size
    fills: list[TakerFill] = []
    remaining = quantity
    remaining_quote = quote_quantity
    for level_ticks, level_quantity in slippage.levels(price_ticks, side, tick, step):
        if limit_ticks is not None and (
            (side == "buy" and level_ticks > limit_ticks)
            or (side == "sell" and level_ticks < limit_ticks)
        ):
            break
        level_price = tick * level_ticks
        if remaining is not None:
            take = remaining
        else:
            assert remaining_quote is not None
            take = round_down(remaining_quote / level_price, step)
        if level_quantity is not None:
            take = min(take, level_quantity)
        if take <= ZERO:
            break
        fills.append(TakerFill(level_ticks, take))
        if remaining is not None:
            remaining -= take
            if remaining <= ZERO:
                break
        else:
            assert remaining_quote is not None
            remaining_quote -= take * level_price
        if level_quantity is None:
            break
    return fills
