"""Klines (OHLCV candles) and 24h ticker statistics from a venue's price history.

The history is the path ticks already played plus prices set by hand, merged in time order;
volume comes from the venue's own trade tape. An interval without any tick repeats the
previous close (flat candle), so candles are contiguous from the first known price.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from engine.domain import ZERO
from simulator.models import Kline

__all__ = ["build_klines", "merge_history", "window_stats"]

MAX_KLINES = 1000
_DAY_MS = 86_400_000


def merge_history(
    path_times: npt.NDArray[np.int64] | None,
    path_ticks: npt.NDArray[np.int64] | None,
    manual: list[tuple[int, int]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Path ticks and hand-set prices as one time-ordered series (hand-set prices after path
    ticks of the same millisecond)."""
    manual_times = np.array([t for t, _ in manual], dtype=np.int64)
    manual_ticks = np.array([p for _, p in manual], dtype=np.int64)
    if path_times is None or path_ticks is None or len(path_times) == 0:
        return manual_times, manual_ticks
    times = np.concatenate([path_times, manual_times])
    ticks = np.concatenate([path_ticks, manual_ticks])
    order = np.argsort(times, kind="stable")
    return times[order], ticks[order]


def _tape_sums(
    tape: list[tuple[int, Decimal, Decimal]], start_ms: int, end_ms: int
) -> tuple[Decimal, Decimal, int]:
    """Base volume, quote volume and trade count of the tape in ``[start_ms, end_ms)``."""
    first = bisect_left(tape, start_ms, key=lambda row: row[0])
    volume, quote, count = ZERO, ZERO, 0
    for time_ms, quantity, quote_quantity in tape[first:]:
        if time_ms >= end_ms:
            break
        volume += quantity
        quote += quote_quantity
        count += 1
    return volume, quote, count


def build_klines(
    times: npt.NDArray[np.int64],
    ticks: npt.NDArray[np.int64],
    tick: Decimal,
    tape: list[tuple[int, Decimal, Decimal]],
    *,
    interval_ms: int,
    now_ms: int,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 500,
) -> list[Kline]:
    """Candles of ``interval_ms`` aligned to the epoch, up to the one containing ``now_ms``.

    Without ``start_ms`` the last ``limit`` candles up to ``end_ms`` (or now) are returned;
    with it, the first ``limit`` candles from ``start_ms``. ``limit`` is capped at 1000.
    """
    if interval_ms <= 0:
        raise ValueError(f"interval_ms: must be > 0, got {interval_ms}")
    if limit <= 0:
        raise ValueError(f"limit: must be > 0, got {limit}")
    limit = min(limit, MAX_KLINES)
    if len(times) == 0:
        return []
    first_open = int(times[0]) // interval_ms * interval_ms
    last_time = now_ms if end_ms is None else min(end_ms, now_ms)
    last_open = last_time // interval_ms * interval_ms
    if start_ms is not None:
        begin = max(first_open, -(-start_ms // interval_ms) * interval_ms)
        end = min(last_open, begin + (limit - 1) * interval_ms)
    else:
        end = last_open
        begin = max(first_open, end - (limit - 1) * interval_ms)
    candles: list[Kline] = []
    for open_ms in range(begin, end + 1, interval_ms):
        close_ms = open_ms + interval_ms - 1
        lo = int(np.searchsorted(times, open_ms, side="left"))
        hi = int(np.searchsorted(times, close_ms, side="right"))
        hi = min(hi, int(np.searchsorted(times, now_ms, side="right")))
        if lo == 0 and hi == 0:
            continue  # before the first known price
        previous_close = int(ticks[lo - 1]) if lo > 0 else int(ticks[0])
        if hi > lo:
            window = ticks[lo:hi]
            starts_here = lo == 0 or int(times[lo]) == open_ms
            open_ticks = int(window[0]) if starts_here else previous_close
            high = max(int(window.max()), open_ticks)
            low = min(int(window.min()), open_ticks)
            close = int(window[-1])
        else:
            open_ticks = high = low = close = previous_close
        volume, quote, count = _tape_sums(tape, open_ms, close_ms + 1)
        candles.append(
            Kline(
                open_ms=open_ms,
                close_ms=close_ms,
                open=tick * open_ticks,
                high=tick * high,
                low=tick * low,
                close=tick * close,
                volume=volume,
                quote_volume=quote,
                trades=count,
            )
        )
    return candles


def window_stats(
    times: npt.NDArray[np.int64],
    ticks: npt.NDArray[np.int64],
    tape: list[tuple[int, Decimal, Decimal]],
    now_ms: int,
) -> tuple[int, int, int, Decimal, Decimal]:
    """(open, high, low) in ticks over the 24h before ``now_ms`` and the base/quote volume."""
    start = now_ms - _DAY_MS
    upto = int(np.searchsorted(times, now_ms, side="right"))
    lo = int(np.searchsorted(times, start, side="left"))
    open_ticks = int(ticks[lo - 1]) if lo > 0 else int(ticks[0])
    window = ticks[lo:upto]
    high = max(int(window.max()), open_ticks) if len(window) else open_ticks
    low = min(int(window.min()), open_ticks) if len(window) else open_ticks
    volume, quote, _ = _tape_sums(tape, start, now_ms + 1)
    return open_ticks, high, low, volume, quote
