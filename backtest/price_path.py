"""Turn loaded bars (or ticks) into the simulator's exact price paths, with numpy.

Each OHLCV bar of length ``d`` becomes four ticks in SPEC §12's order, exactly as
:func:`simulator.path_csv.expand_bar` does for one bar (a test checks both agree)::

    t            open
    t + d//3     the extreme nearer to the open
    t + 2d//3    the farther extreme
    t + d - 1    close

"Nearer" compares |high − open| with |low − open| in exact path units; on a tie a rising bar
(close >= open) visits the low first and a falling bar the high first. A bar's length is the
gap to the next bar (the last bar repeats the previous gap; a single bar is one minute), or
the given ``bar_ms``. Prices become int64 multiples of 1e-8 (the simulator's path units),
rounded half-even from the float64 values pandas read.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from simulator.markets import PRICE_DECIMALS
from simulator.paths import PricePath, SymbolPath

__all__ = ["PathBuildError", "bars_to_symbol_path", "ticks_to_symbol_path", "frames_to_path"]

_SCALE = float(10**PRICE_DECIMALS)
_MAX_EXACT = float(2**53)  # float64 integers above this are not exact
_DEFAULT_BAR_MS = 60_000

Int64Array = npt.NDArray[np.int64]


class PathBuildError(ValueError):
    """A price series cannot become a path; ``field`` names the column, ``reason`` a code."""

    def __init__(self, symbol: str, field: str, reason: str, detail: str) -> None:
        super().__init__(f"{symbol}.{field}: {detail} ({reason})")
        self.symbol = symbol
        self.field = field
        self.reason = reason


def _units(values: npt.NDArray[np.float64], symbol: str, field: str) -> Int64Array:
    scaled = np.asarray(values, dtype=np.float64) * _SCALE
    if not np.all(np.isfinite(scaled)):
        raise PathBuildError(symbol, field, "not_finite", "prices must be finite numbers")
    if np.any(scaled >= _MAX_EXACT):
        raise PathBuildError(symbol, field, "too_large", "prices above 90,071,992 cannot be exact")
    units = np.rint(scaled).astype(np.int64)
    if np.any(units <= 0):
        bad = int(np.argmax(units <= 0))
        raise PathBuildError(symbol, field, "not_positive", f"row {bad}: price must be > 0")
    return units


def _bar_lengths(times: Int64Array, bar_ms: int | None) -> Int64Array:
    if bar_ms is not None:
        return np.full(len(times), bar_ms, dtype=np.int64)
    if len(times) == 1:
        return np.array([_DEFAULT_BAR_MS], dtype=np.int64)
    gaps = np.diff(times)
    return np.concatenate([gaps, gaps[-1:]]).astype(np.int64)


def bars_to_symbol_path(
    symbol: str, bars: pd.DataFrame, *, bar_ms: int | None = None
) -> SymbolPath:
    """Expand a bars frame (``ts_ms, open, high, low, close``; sorted, unique times) into a
    :class:`SymbolPath` of four ticks per bar."""
    if len(bars) == 0:
        raise PathBuildError(symbol, "bars", "empty", "no bars")
    times = bars["ts_ms"].to_numpy(dtype=np.int64)
    if np.any(np.diff(times) <= 0):
        raise PathBuildError(symbol, "timestamp", "not_increasing", "bar times must increase")
    o = _units(bars["open"].to_numpy(), symbol, "open")
    h = _units(bars["high"].to_numpy(), symbol, "high")
    low = _units(bars["low"].to_numpy(), symbol, "low")
    c = _units(bars["close"].to_numpy(), symbol, "close")
    bad = (low > np.minimum(o, c)) | (h < np.maximum(o, c))
    if bad.any():
        row = int(np.argmax(bad))
        raise PathBuildError(symbol, "low/high", "not_enclosing", f"row {row}: low/high")
    lengths = _bar_lengths(times, bar_ms)
    if np.any(lengths < 4):
        row = int(np.argmax(lengths < 4))
        raise PathBuildError(symbol, "timestamp", "bar_too_short", f"row {row}: bar under 4 ms")
    up, down = h - o, o - low
    high_first = (up < down) | ((up == down) & (c < o))
    first = np.where(high_first, h, low)
    second = np.where(high_first, low, h)
    tick_times = np.column_stack(
        (times, times + lengths // 3, times + 2 * lengths // 3, times + lengths - 1)
    ).ravel()
    units = np.column_stack((o, first, second, c)).ravel()
    return SymbolPath(symbol, tick_times.astype(np.int64), units.astype(np.int64))


def ticks_to_symbol_path(symbol: str, ticks: pd.DataFrame) -> SymbolPath:
    """A ticks frame (``ts_ms, price``; sorted) becomes one path tick per row."""
    if len(ticks) == 0:
        raise PathBuildError(symbol, "ticks", "empty", "no ticks")
    times = ticks["ts_ms"].to_numpy(dtype=np.int64)
    if np.any(np.diff(times) < 0):
        raise PathBuildError(symbol, "timestamp", "not_sorted", "tick times must not decrease")
    return SymbolPath(symbol, times, _units(ticks["price"].to_numpy(), symbol, "price"))


def frames_to_path(frames: dict[str, pd.DataFrame], *, bar_ms: int | None = None) -> PricePath:
    """One :class:`PricePath` from bars or ticks frames keyed by symbol (a frame with a
    ``price`` column is ticks, else bars)."""
    if not frames:
        raise PathBuildError("*", "symbols", "empty", "no price series")
    symbols = {}
    for symbol in sorted(frames):
        frame = frames[symbol]
        if "price" in frame.columns:
            symbols[symbol] = ticks_to_symbol_path(symbol, frame)
        else:
            symbols[symbol] = bars_to_symbol_path(symbol, frame, bar_ms=bar_ms)
    start = min(path.start_ms for path in symbols.values())
    return PricePath(symbols, start, True)
