"""The exchange simulator: deterministic Binance/Bybit-like venues driven by price paths.

In-process API: :class:`Simulator` (clock, paths, prices, faults) and its :class:`Venue`
objects (accounts, orders, fills). The REST faces live in ``simulator.rest``; the engine
trades in-process through :class:`simulator.adapter.SimExchangeAdapter`.
"""

from simulator.errors import SimAuthError, SimDown, SimError, SimRateLimited, SimTimeout
from simulator.exchange import DEFAULT_BALANCES, Simulator
from simulator.faults import ENDPOINTS, Fault, FaultEffects, FaultSchedule
from simulator.markets import SimMarket, generate_synthetic_markets, load_venue_specs
from simulator.models import (
    Balance,
    BookLevel,
    Kline,
    Position,
    SimEvent,
    SimOrder,
    SimOrderStatus,
    SimTrade,
    Ticker,
)
from simulator.paths import DEFAULT_START_MS, SEED_START_PRICES, PricePath, SymbolPath
from simulator.slippage import FixedBpsSlippage, NoSlippage, SyntheticBook, slippage_from_spec
from simulator.venue import Venue

__all__ = [
    "DEFAULT_BALANCES",
    "DEFAULT_START_MS",
    "ENDPOINTS",
    "SEED_START_PRICES",
    "Balance",
    "BookLevel",
    "Fault",
    "FaultEffects",
    "FaultSchedule",
    "FixedBpsSlippage",
    "Kline",
    "NoSlippage",
    "Position",
    "PricePath",
    "SimAuthError",
    "SimDown",
    "SimError",
    "SimEvent",
    "SimMarket",
    "SimOrder",
    "SimOrderStatus",
    "SimRateLimited",
    "SimTimeout",
    "SimTrade",
    "Simulator",
    "SymbolPath",
    "SyntheticBook",
    "Ticker",
    "Venue",
    "generate_synthetic_markets",
    "load_venue_specs",
    "slippage_from_spec",
]
