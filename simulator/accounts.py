"""Accounts: API keys, balances (free and locked) per asset, linear positions, and the
settlement of one fill against them.

Spot: a buy pays quote and receives base minus the fee (fee asset: base, as Binance does), or
with ``buy_fee_in_quote`` receives all the base and pays the fee in quote on top of the cost;
a sell pays base and receives quote minus the fee (fee asset: quote). Linear (perpetual,
1x): the quote asset is the only balance; opening a position moves its notional from free
into the position's margin, closing releases margin plus realised PnL; fees in quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from engine.domain import ZERO
from simulator.markets import SimMarket
from simulator.models import Balance, Position

__all__ = ["Account", "FillSettlement", "Funds", "InsufficientFunds", "LinearPosition"]


class InsufficientFunds(Exception):
    """A lock would exceed the free balance (the venue turns it into the venue's error)."""


@dataclass(slots=True)
class Funds:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass(slots=True)
class LinearPosition:
    quantity: Decimal = ZERO  # signed: short < 0
    margin: Decimal = ZERO
    realised_pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class FillSettlement:
    fee: Decimal
    fee_asset: str
    realised_pnl: Decimal = ZERO


@dataclass(slots=True)
class Account:
    api_key: str
    api_secret: str
    initial: dict[str, Decimal]
    funds: dict[str, Funds] = field(default_factory=dict)
    positions: dict[str, LinearPosition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.funds:
            self.restore()

    def restore(self) -> None:
        """Back to the initial balances, no positions."""
        self.funds = {asset: Funds(free=amount) for asset, amount in self.initial.items()}
        self.positions = {}

    def _funds(self, asset: str) -> Funds:
        return self.funds.setdefault(asset, Funds())

    def free(self, asset: str) -> Decimal:
        return self._funds(asset).free

    def lock(self, asset: str, amount: Decimal) -> None:
        funds = self._funds(asset)
        if amount > funds.free:
            raise InsufficientFunds(asset)
        funds.free -= amount
        funds.locked += amount

    def unlock(self, asset: str, amount: Decimal) -> None:
        funds = self._funds(asset)
        funds.locked -= amount
        funds.free += amount

    def balances(self) -> dict[str, Balance]:
        return {
            asset: Balance(funds.free, funds.locked) for asset, funds in sorted(self.funds.items())
        }

    def position_views(self) -> dict[str, Position]:
        return {
            symbol: Position(symbol, p.quantity, p.margin, p.realised_pnl)
            for symbol, p in sorted(self.positions.items())
        }

    def position_quantity(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position else ZERO

    # -- settlement -------------------------------------------------------------------------

    def settle(
        self,
        market: SimMarket,
        side: str,
        quantity: Decimal,
        price: Decimal,
        fee_rate: Decimal,
        released: Decimal,
        *,
        buy_fee_in_quote: bool = False,
    ) -> FillSettlement:
        """Book one fill. ``released`` is the amount this fill frees from the order's lock
        (quote for spot buys and linear orders, base for spot sells); it is moved back to
        free before the fill is paid from free."""
        if market.market_type == "linear":
            return self._settle_linear(market, side, quantity, price, fee_rate, released)
        quote, base = self._funds(market.quote), self._funds(market.base)
        gross = quantity * price
        if side == "buy":
            quote.locked -= released
            quote.free += released - gross
            if buy_fee_in_quote:
                fee = gross * fee_rate
                quote.free -= fee
                base.free += quantity
                return FillSettlement(fee, market.quote)
            fee = quantity * fee_rate
            base.free += quantity - fee
            return FillSettlement(fee, market.base)
        base.locked -= released
        base.free += released - quantity
        fee = gross * fee_rate
        quote.free += gross - fee
        return FillSettlement(fee, market.quote)

    def _settle_linear(
        self,
        market: SimMarket,
        side: str,
        quantity: Decimal,
        price: Decimal,
        fee_rate: Decimal,
        released: Decimal,
    ) -> FillSettlement:
        cash = self._funds(market.quote)
        cash.locked -= released
        cash.free += released
        position = self.positions.setdefault(market.symbol, LinearPosition())
        signed = quantity if side == "buy" else -quantity
        pnl = ZERO
        remaining = quantity
        if position.quantity != ZERO and (position.quantity > 0) != (signed > 0):
            closing = min(quantity, abs(position.quantity))
            if closing == abs(position.quantity):
                released_margin = position.margin
            else:
                released_margin = position.margin * closing / abs(position.quantity)
            direction = 1 if position.quantity > 0 else -1
            pnl = (closing * price - released_margin) * direction
            position.quantity += closing if signed > 0 else -closing
            position.margin -= released_margin
            position.realised_pnl += pnl
            cash.free += released_margin + pnl
            remaining = quantity - closing
        if remaining > ZERO:
            cost = remaining * price
            cash.free -= cost
            position.margin += cost
            position.quantity += remaining if signed > 0 else -remaining
        fee = quantity * price * fee_rate
        cash.free -= fee
        if position.quantity == ZERO:
            position.margin = ZERO
        return FillSettlement(fee, market.quote, pnl)
