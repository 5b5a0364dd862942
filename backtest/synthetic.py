"""Seeded synthetic OHLCV data: a regime-switching random walk, for tests and benchmarks.

Three regimes (calm, trending up, trending down / volatile) switch by a Markov chain; within a
regime, per-bar log returns are normal with the regime's drift and volatility. Open is the
previous close; high and low extend beyond the body by a half-normal wick. Prices are rounded to
the symbol's tick so that they are exact Decimals at the tick when the simulator reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Regime", "DEFAULT_REGIMES", "generate_bars", "write_bars"]


@dataclass(frozen=True)
class Regime:
    drift_per_bar: float
    volatility_per_bar: float
    stay_probability: float


DEFAULT_REGIMES = (
    Regime(drift_per_bar=0.0, volatility_per_bar=0.0006, stay_probability=0.999),
    Regime(drift_per_bar=0.00004, volatility_per_bar=0.0009, stay_probability=0.998),
    Regime(drift_per_bar=-0.00005, volatility_per_bar=0.0015, stay_probability=0.997),
)


def _regime_path(rng: np.random.Generator, bars: int, regimes: tuple[Regime, ...]) -> np.ndarray:
    """Regime index per bar. Switch times are drawn as geometric run lengths (vectorised)."""
    out = np.empty(bars, dtype=np.int64)
    position, current = 0, 0
    while position < bars:
        run = int(rng.geometric(1.0 - regimes[current].stay_probability))
        out[position : position + run] = current
        position += run
        choices = [i for i in range(len(regimes)) if i != current]
        current = int(rng.choice(choices))
    return out


def generate_bars(
    start_price: float,
    bars: int,
    *,
    seed: int,
    start_ms: int = 1_735_689_600_000,  # 2025-01-01T00:00:00Z
    bar_ms: int = 60_000,
    tick_size: float = 0.01,
    regimes: tuple[Regime, ...] = DEFAULT_REGIMES,
) -> pd.DataFrame:
    """Generate ``bars`` OHLCV bars starting at ``start_price``; same seed, same bars."""
    if bars <= 0:
        raise ValueError("bars must be positive")
    rng = np.random.default_rng(seed)
    regime = _regime_path(rng, bars, regimes)
    drift = np.array([r.drift_per_bar for r in regimes])[regime]
    vol = np.array([r.volatility_per_bar for r in regimes])[regime]
    log_returns = drift + vol * rng.standard_normal(bars)
    close = start_price * np.exp(np.cumsum(log_returns))
    open_ = np.concatenate(([start_price], close[:-1]))
    wick_up = np.abs(rng.standard_normal(bars)) * vol * 0.5
    wick_down = np.abs(rng.standard_normal(bars)) * vol * 0.5
    high = np.maximum(open_, close) * np.exp(wick_up)
    low = np.minimum(open_, close) * np.exp(-wick_down)

    def to_tick(values: np.ndarray) -> np.ndarray:
        ticks = np.maximum(np.round(values / tick_size), 1.0)
        return ticks * tick_size

    open_t, close_t = to_tick(open_), to_tick(close)
    high_t = np.maximum(to_tick(high), np.maximum(open_t, close_t))
    low_t = np.minimum(to_tick(low), np.minimum(open_t, close_t))
    volume = np.round(np.abs(rng.standard_normal(bars)) * 10 + 1, 4)
    return pd.DataFrame(
        {
            "timestamp": start_ms + bar_ms * np.arange(bars, dtype=np.int64),
            "open": open_t,
            "high": high_t,
            "low": low_t,
            "close": close_t,
            "volume": volume,
        }
    )


def write_bars(
    folder: str | Path,
    start_prices: Mapping[str, float],
    bars: int,
    *,
    seed: int,
    tick_sizes: Mapping[str, float] | None = None,
    fmt: str = "parquet",
    bar_ms: int = 60_000,
    start_ms: int = 1_735_689_600_000,
) -> list[Path]:
    """Write one file per symbol; each symbol gets its own seed derived from ``seed``."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for offset, (symbol, price) in enumerate(sorted(start_prices.items())):
        tick = (tick_sizes or {}).get(symbol, 10.0 ** -max(2, 6 - len(str(int(price)))))
        frame = generate_bars(
            price,
            bars,
            seed=seed * 1000 + offset,
            tick_size=tick,
            bar_ms=bar_ms,
            start_ms=start_ms,
        )
        path = root / f"{symbol}.{fmt}"
        if fmt == "parquet":
            frame.to_parquet(path, index=False)
        elif fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            raise ValueError("fmt must be parquet or csv")
        written.append(path)
    return written
