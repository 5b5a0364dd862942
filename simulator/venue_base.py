"""State and plumbing shared by a venue's parts: accounts, books, the fault gate."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from simulator.accounts import Account
from simulator.errors import SimError
from simulator.faults import FaultEffects, FaultSchedule
from simulator.markets import SimMarket, VenueSpec
from simulator.matching import OrderState, SymbolBook
from simulator.models import SimTrade
from simulator.slippage import SlippageModel

__all__ = ["VenueBase", "VenueHost"]


class VenueHost(Protocol):
    """What a venue needs from the simulator that owns it."""

    lock: threading.RLock
    faults: FaultSchedule
    slippage: SlippageModel
    liquidity_per_tick: Decimal | None
    default_balances: dict[str, Decimal]
    spot_buy_fee_asset: str

    @property
    def clock_ms(self) -> int: ...

    def record(self, entry: dict[str, Any]) -> None: ...

    def delay(self, latency_ms: int) -> None: ...

    def path_times(self, symbol: str) -> npt.NDArray[np.int64] | None: ...


class VenueBase:
    """A venue's state (accounts, books, orders, id counters) and the request gate."""

    def __init__(self, spec: VenueSpec, host: VenueHost, start_prices: dict[str, Decimal]):
        self.name = spec.name
        self.spec = spec
        self.markets: dict[str, SimMarket] = dict(spec.markets)
        self.accounts: dict[str, Account] = {}
        self.books: dict[str, SymbolBook] = {}
        self.slippage: SlippageModel | None = None  # None: the simulator's model
        self.liquidity_per_tick: Decimal | None = None  # None: the simulator's setting
        self._host = host
        self._start_prices = start_prices
        self._orders: dict[str, OrderState] = {}
        self._by_client: dict[tuple[str, str], list[OrderState]] = {}
        self._orders_by_key: dict[str, list[OrderState]] = {}
        self._trades_by_key: dict[str, list[SimTrade]] = {}
        self._next_order_id = spec.order_id_start
        self._next_trade_id = spec.trade_id_start
        self._sequence = 0
        self._client_pattern = re.compile(spec.quirks.client_id_pattern)
        for market in self.markets.values():
            self._open_book(market)

    # -- set-up -------------------------------------------------------------------------------

    def _open_book(self, market: SimMarket) -> None:
        price = market.start_price or self._start_prices.get(market.symbol)
        if price is None:
            raise ValueError(f"{self.name}.{market.symbol}: no start price")
        ticks = max(1, int((price / market.tick).to_integral_value()))
        clock = self._host.clock_ms
        self.books[market.symbol] = SymbolBook(market, ticks, clock, history=[(clock, ticks)])

    def add_market(self, market: SimMarket) -> None:
        """Add (or replace) a market; it starts at ``market.start_price`` or the seed price."""
        with self._host.lock:
            self.markets[market.symbol] = market
            self._open_book(market)

    def reset(self) -> None:
        """Forget orders and trades, restore balances and start prices (accounts stay)."""
        self._orders.clear()
        self._by_client.clear()
        self._orders_by_key.clear()
        self._trades_by_key.clear()
        self._next_order_id = self.spec.order_id_start
        self._next_trade_id = self.spec.trade_id_start
        self._sequence = 0
        for account in self.accounts.values():
            account.restore()
        for market in self.markets.values():
            self._open_book(market)

    def create_account(
        self, api_key: str, api_secret: str, balances: dict[str, Decimal] | None = None
    ) -> Account:
        if not api_key or not api_secret:
            raise ValueError("api_key/api_secret: must not be empty")
        initial = dict(self._host.default_balances if balances is None else balances)
        for asset, amount in initial.items():
            if not isinstance(amount, Decimal) or amount < 0:
                raise ValueError(f"balances.{asset}: must be a Decimal >= 0")
        with self._host.lock:
            account = Account(api_key, api_secret, initial)
            self.accounts[api_key] = account
            return account

    def account(self, api_key: str) -> Account:
        account = self.accounts.get(api_key)
        if account is None:
            raise self.spec.errors.error("bad_api_key")
        return account

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _request(self, endpoint: str, symbol: str | None = None) -> Iterator[FaultEffects]:
        with self._host.lock:
            effects = self._host.faults.check(self.name, endpoint, symbol=symbol)
        if effects.latency_ms:
            self._host.delay(effects.latency_ms)
        with self._host.lock:
            yield effects

    def _error(self, reason: str, field: str = "") -> SimError:
        return self.spec.errors.error(reason, field=field)

    def market(self, symbol: str) -> SimMarket:
        market = self.markets.get(symbol.upper()) if isinstance(symbol, str) else None
        if market is None:
            raise self._error("invalid_symbol", "symbol")
        return market

    def _lost(self, effects: FaultEffects, result: object) -> None:
        if effects.response_lost:
            raise self.spec.errors.error("response_lost", result=result)
