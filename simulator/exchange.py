"""The simulator: venues, the path-driven clock, price moves and fault schedule.

``advance`` never loops over ticks in Python when nothing can fill: for each market it asks
numpy for the first remaining tick that crosses the best resting buy or sell
(:func:`~simulator.matching.first_crossing`), handles that tick, and repeats; the ticks in
between only move the clock and the last price.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.domain import to_decimal
from simulator.faults import FaultSchedule
from simulator.markets import SimMarket, load_venue_specs
from simulator.matching import first_crossing
from simulator.models import SimEvent
from simulator.path_csv import parse_csv_path
from simulator.paths import (
    DEFAULT_START_MS,
    SEED_START_PRICES,
    PricePath,
    SymbolPath,
    parse_path_yaml,
)
from simulator.slippage import NoSlippage, SlippageModel
from simulator.venue import Venue

__all__ = ["Simulator", "DEFAULT_BALANCES"]

DEFAULT_BALANCES: dict[str, Decimal] = {"USDT": Decimal(100_000)}


class Simulator:
    """A deterministic multi-exchange simulator driven by price paths.

    Thread-safe: every public method holds :attr:`lock` (a ``threading.RLock``).
    ``latency_hook`` is called with the milliseconds of an injected latency fault (outside
    the lock); in-process the default does nothing, the REST server passes a real sleep.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        start_ms: int = DEFAULT_START_MS,
        markets_dir: Path | str | None = None,
        default_balances: dict[str, Decimal] | None = None,
        slippage: SlippageModel | None = None,
        liquidity_per_tick: Decimal | None = None,
        start_prices: dict[str, Decimal] | None = None,
        latency_hook: Callable[[int], None] | None = None,
        spot_buy_fee_asset: str = "base",
    ) -> None:
        if liquidity_per_tick is not None and liquidity_per_tick <= 0:
            raise ValueError("liquidity_per_tick: must be > 0")
        if spot_buy_fee_asset not in ("base", "quote"):
            raise ValueError(
                f"spot_buy_fee_asset: expected 'base' or 'quote', got {spot_buy_fee_asset!r}"
            )
        self.seed = seed
        self.start_ms = start_ms
        self.lock = threading.RLock()
        self.log: list[dict[str, Any]] = []
        self.default_balances = dict(
            DEFAULT_BALANCES if default_balances is None else default_balances
        )
        self.slippage: SlippageModel = slippage or NoSlippage()
        self.liquidity_per_tick = liquidity_per_tick
        # Spot buys pay their fee in the base asset (Binance's default) or, with "quote", in
        # the quote asset on top of the cost (as with a fee paid from the quote balance).
        self.spot_buy_fee_asset = spot_buy_fee_asset
        self.latency_hook = latency_hook
        self.start_prices = dict(SEED_START_PRICES)
        self.start_prices.update(
            {s.upper(): to_decimal(p, field=f"start_prices.{s}") for s, p in
             (start_prices or {}).items()}
        )  # fmt: skip
        self._clock = start_ms
        self._path: dict[str, SymbolPath] = {}
        self._cursor: dict[str, int] = {}
        specs = load_venue_specs(markets_dir)
        self.faults = FaultSchedule(
            clock=lambda: self._clock,
            log=self.record,
            catalogs={name: spec.errors for name, spec in specs.items()},
        )
        self.venues: dict[str, Venue] = {
            name: Venue(spec, self, self.start_prices) for name, spec in specs.items()
        }

    # -- host services used by venues ---------------------------------------------------------

    @property
    def clock_ms(self) -> int:
        return self._clock

    def now_ms(self) -> int:
        """The simulated time (satisfies ``engine.ports.Clock``)."""
        return self._clock

    def record(self, entry: dict[str, Any]) -> None:
        self.log.append(entry)

    def delay(self, latency_ms: int) -> None:
        if self.latency_hook is not None:
            self.latency_hook(latency_ms)

    def path_times(self, symbol: str) -> npt.NDArray[np.int64] | None:
        """Times of the path ticks of ``symbol`` already played (``None`` without a path)."""
        path = self._path.get(symbol)
        if path is None:
            return None
        return path.times[: self._cursor[symbol]]

    # -- venues and accounts ------------------------------------------------------------------

    def venue(self, name: str) -> Venue:
        venue = self.venues.get(str(name).lower())
        if venue is None:
            raise ValueError(f"exchange: unknown venue {name!r} (have {sorted(self.venues)})")
        return venue

    def create_account(
        self,
        api_key: str,
        api_secret: str,
        balances: dict[str, Decimal] | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> None:
        """Create the same account (key, secret, balances) on several venues (default all)."""
        with self.lock:
            for name in exchanges or list(self.venues):
                self.venue(name).create_account(api_key, api_secret, balances)

    def add_markets(
        self, markets: Iterable[SimMarket], exchanges: Iterable[str] | None = None
    ) -> None:
        """Add markets (e.g. :func:`~simulator.markets.generate_synthetic_markets`) to
        several venues (default all)."""
        listed = list(markets)
        with self.lock:
            for name in exchanges or list(self.venues):
                for market in listed:
                    self.venue(name).add_market(market)

    @property
    def path(self) -> dict[str, SymbolPath]:
        return dict(self._path)

    # -- prices -------------------------------------------------------------------------------

    def load_path(
        self, path: PricePath | str | Path, *, symbol: str | None = None
    ) -> list[SimEvent]:
        """Load a path (a :class:`PricePath`, or a ``.yaml``/``.yml``/``.csv`` file).

        A YAML path without ``start`` begins at the current clock. A path that starts earlier
        than the clock rewinds it (the clock is the path's clock), allowed only before any
        order exists. Ticks at or before the clock are applied at once (their fills are
        returned); later ticks are played by :meth:`advance`. Symbols of the path replace
        their previous path; other symbols keep theirs.
        """
        with self.lock:
            loaded = self._read_path(path, symbol)
            if not loaded.anchored:
                loaded = loaded.shifted(self._clock - loaded.start_ms)
            for name in loaded.symbols:
                if not any(name in venue.markets for venue in self.venues.values()):
                    raise ValueError(f"path: {name} is not a market on any venue")
            if loaded.start_ms < self._clock:
                self._rewind(loaded.start_ms)
            events: list[SimEvent] = []
            for name, symbol_path in loaded.symbols.items():
                self._path[name] = symbol_path
                cursor = int(np.searchsorted(symbol_path.times, self._clock, side="right"))
                self._cursor[name] = cursor
                for venue in self.venues.values():
                    book = venue.books.get(name)
                    if book is None:
                        continue
                    step = venue.markets[name].tick_units
                    book.path_ticks = np.maximum((symbol_path.units + step // 2) // step, 1)
                    if cursor > 0:
                        events += venue.on_price(
                            name, int(book.path_ticks[cursor - 1]), manual=False
                        )
            self.record(
                {
                    "time_ms": self._clock,
                    "kind": "path",
                    "symbols": sorted(loaded.symbols),
                    "start_ms": loaded.start_ms,
                    "end_ms": loaded.end_ms,
                }
            )
            return events

    def _read_path(self, path: PricePath | str | Path, symbol: str | None) -> PricePath:
        if isinstance(path, PricePath):
            return path
        file = Path(path)
        if file.suffix.lower() in (".yaml", ".yml"):
            return parse_path_yaml(
                file.read_text(), seed=self.seed, default_prices=self._default_prices()
            )
        if file.suffix.lower() == ".csv":
            return parse_csv_path(file, symbol=symbol)
        raise ValueError(f"path: expected a .yaml, .yml or .csv file, got {file.name!r}")

    def load_path_text(self, text: str) -> list[SimEvent]:
        """Load an inline YAML path (the admin API's ``POST /admin/path``)."""
        with self.lock:
            loaded = parse_path_yaml(text, seed=self.seed, default_prices=self._default_prices())
            return self.load_path(loaded)

    def _default_prices(self) -> dict[str, Decimal]:
        prices = dict(self.start_prices)
        for venue in self.venues.values():
            for market in venue.markets.values():
                if market.start_price is not None:
                    prices.setdefault(market.symbol, market.start_price)
        return prices

    def _rewind(self, start_ms: int) -> None:
        if any(venue.orders_snapshot() for venue in self.venues.values()):
            raise ValueError(
                "path: starts before the simulator clock and orders exist; reset first"
            )
        self._clock = start_ms
        for venue in self.venues.values():
            for book in venue.books.values():
                book.price_ms = start_ms
                book.history = [(start_ms, book.price_ticks)]
        for name, symbol_path in self._path.items():
            self._cursor[name] = int(np.searchsorted(symbol_path.times, start_ms, side="right"))

    def set_price(self, exchange: str, symbol: str, price: Decimal) -> list[SimEvent]:
        """Move ``symbol`` on ``exchange`` to ``price`` (rounded to the tick) now, filling
        every resting order the move crosses at its limit price."""
        with self.lock:
            venue = self.venue(exchange)
            market = venue.market(symbol)
            value = to_decimal(price, field="price")
            if value <= 0:
                raise ValueError(f"price: must be positive, got {value}")
            ticks = int((value / market.tick).to_integral_value(rounding=ROUND_HALF_UP))
            events = venue.on_price(market.symbol, max(ticks, 1), manual=True)
            self.record(
                {
                    "time_ms": self._clock,
                    "kind": "price",
                    "exchange": venue.name,
                    "symbol": market.symbol,
                    "price": str(market.tick * max(ticks, 1)),
                }
            )
            return events

    # -- time ---------------------------------------------------------------------------------

    def advance(self, *, until_ms: int | None = None, by_ms: int | None = None) -> list[SimEvent]:
        """Play the path up to ``until_ms`` (or ``by_ms`` from now) and return the fills and
        status changes it caused, in time order."""
        with self.lock:
            if (until_ms is None) == (by_ms is None):
                raise ValueError("advance: give exactly one of until_ms or by_ms")
            target = until_ms if until_ms is not None else self._clock + int(by_ms or 0)
            if target < self._clock:
                raise ValueError(f"until_ms: {target} is before the clock {self._clock}")
            events: list[SimEvent] = []
            stops = {
                name: int(np.searchsorted(p.times, target, side="right"))
                for name, p in self._path.items()
            }
            cache: dict[tuple[str, str], int] = {}
            while True:
                best: tuple[int, str, int] | None = None
                for name in sorted(self._path):
                    index = self._next_crossing(name, stops[name], cache)
                    if index < 0:
                        continue
                    moment = int(self._path[name].times[index])
                    if best is None or (moment, name) < (best[0], best[1]):
                        best = (moment, name, index)
                if best is None:
                    break
                moment, name, index = best
                self._clock = max(self._clock, moment)
                for venue in self.venues.values():
                    book = venue.books.get(name)
                    if book is None or book.path_ticks is None:
                        continue
                    events += venue.on_price(name, int(book.path_ticks[index]), manual=False)
                    cache.pop((venue.name, name), None)
                self._cursor[name] = index + 1
            self._clock = target
            for name, stop in stops.items():
                if stop > self._cursor[name]:
                    self._cursor[name] = stop
                    for venue in self.venues.values():
                        book = venue.books.get(name)
                        if book is not None and book.path_ticks is not None:
                            book.price_ticks = int(book.path_ticks[stop - 1])
                            book.price_ms = int(self._path[name].times[stop - 1])
            return events

    def _next_crossing(self, name: str, stop: int, cache: dict[tuple[str, str], int]) -> int:
        start = self._cursor[name]
        if start >= stop:
            return -1
        best = -1
        for venue in self.venues.values():
            book = venue.books.get(name)
            if book is None or book.path_ticks is None:
                continue
            key = (venue.name, name)
            if key not in cache:
                best_buy, best_sell = venue.resting_thresholds(name)
                cache[key] = first_crossing(book.path_ticks, start, stop, best_buy, best_sell)
            index = cache[key]
            if index >= 0 and (best < 0 or index < best):
                best = index
        return best

    # -- reset --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: clock, prices, no path, no orders or trades, no faults, empty
        log; accounts are kept with their initial balances."""
        with self.lock:
            self._clock = self.start_ms
            self._path.clear()
            self._cursor.clear()
            self.faults.clear()
            self.log.clear()
            for venue in self.venues.values():
                venue.reset()
