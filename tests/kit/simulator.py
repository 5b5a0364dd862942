"""Builders for simulator tests: a simulator with a funded account, and paths from points."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from simulator import PricePath, Simulator, SymbolPath
from simulator.paths import DEFAULT_START_MS, price_to_units

__all__ = ["KEY", "SECRET", "T0", "D", "funded_sim", "points_path"]

KEY = "test-key"
SECRET = "test-secret"
T0 = DEFAULT_START_MS


def D(text: str | int) -> Decimal:
    return Decimal(text)


def funded_sim(balances: dict[str, Decimal] | None = None, **kwargs: object) -> Simulator:
    """A simulator whose account ``KEY`` exists on every venue (default 100,000 USDT)."""
    sim = Simulator(**kwargs)  # type: ignore[arg-type]
    sim.create_account(KEY, SECRET, balances)
    return sim


def points_path(series: dict[str, list[tuple[int, str]]]) -> PricePath:
    """A path from explicit ``(ms offset from T0, price)`` points per symbol."""
    symbols = {}
    for symbol, points in series.items():
        times = np.array([T0 + offset for offset, _ in points], dtype=np.int64)
        units = np.array([price_to_units(Decimal(p)) for _, p in points], dtype=np.int64)
        symbols[symbol] = SymbolPath(symbol, times, units)
    return PricePath(symbols, T0, True)
