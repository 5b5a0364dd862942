"""Benchmark: advancing the in-process simulator over a 1,000,000-tick path.

Prints JSON: ticks/s with 100 resting orders that never cross, with 100 resting orders that
the path crosses (each fills once), and a naive baseline measured in the same run, which
hands every tick to the venue one by one (``Venue.on_price``, the same matching code the
vectorised search calls only for crossing ticks). Import ``run()`` to reuse the numbers.

    .venv/bin/python benchmarks/simulator_core.py [--ticks 1000000] [--baseline-ticks 200000]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from decimal import Decimal
from typing import Any

import numpy as np

from simulator import PricePath, Simulator, SymbolPath
from simulator.paths import DEFAULT_START_MS

__all__ = ["run", "main"]

KEY, SECRET = "bench", "bench-secret"
SYMBOL = "BTCUSDT"
STEP_MS = 100


def _path(n_ticks: int, seed: int = 7) -> PricePath:
    rng = np.random.default_rng(seed)
    prices = np.clip(95_000 + np.cumsum(rng.normal(0, 5, n_ticks)), 85_000, 105_000)
    units = np.rint(prices * 100).astype(np.int64) * 1_000_000  # on the 0.01 tick
    times = DEFAULT_START_MS + np.arange(n_ticks, dtype=np.int64) * STEP_MS  # first tick: now
    return PricePath({SYMBOL: SymbolPath(SYMBOL, times, units)}, DEFAULT_START_MS)


def _simulator(path: PricePath) -> Simulator:
    sim = Simulator(seed=0)
    sim.create_account(KEY, SECRET, {"USDT": Decimal(100_000_000), "BTC": Decimal(1_000)})
    sim.load_path(path)
    return sim


def _rest(sim: Simulator, buy_prices: list[Decimal], sell_prices: list[Decimal]) -> None:
    venue = sim.venue("binance")
    for price in buy_prices:
        venue.place_order(KEY, symbol=SYMBOL, side="buy", type="limit",
                          quantity=Decimal("0.001"), price=price)  # fmt: skip
    for price in sell_prices:
        venue.place_order(KEY, symbol=SYMBOL, side="sell", type="limit",
                          quantity=Decimal("0.001"), price=price)  # fmt: skip


def _timed_advance(sim: Simulator, until_ms: int) -> tuple[float, int]:
    started = time.perf_counter()
    events = sim.advance(until_ms=until_ms)
    return time.perf_counter() - started, len(events)


def run(n_ticks: int = 1_000_000, baseline_ticks: int = 200_000) -> dict[str, Any]:
    path = _path(n_ticks)
    prices = path.symbols[SYMBOL].prices
    end_ms = path.symbols[SYMBOL].end_ms
    low, high = float(prices.min()), float(prices.max())
    start_price = float(prices[0])

    # 100 orders that never cross: buys below the path's low, sells above its high
    quiet = _simulator(path)
    _rest(
        quiet,
        [Decimal(int(low) - 100 - i) for i in range(50)],
        [Decimal(int(high) + 100 + i) for i in range(50)],
    )
    quiet_s, quiet_events = _timed_advance(quiet, end_ms)

    # 100 orders inside the range: buys between the low and the start, sells between the
    # start and the high; the walk crosses every one of them
    busy = _simulator(path)
    buys = np.linspace(low + 1, start_price - 1, 50)
    sells = np.linspace(start_price + 1, high - 1, 50)
    _rest(busy, [Decimal(f"{p:.2f}") for p in buys], [Decimal(f"{p:.2f}") for p in sells])
    busy_s, busy_events = _timed_advance(busy, end_ms)

    # naive baseline: every tick handed to the venue in a Python loop (same 100 quiet orders)
    naive = _simulator(path)
    _rest(
        naive,
        [Decimal(int(low) - 100 - i) for i in range(50)],
        [Decimal(int(high) + 100 + i) for i in range(50)],
    )
    venue = naive.venue("binance")
    ticks = venue.books[SYMBOL].path_ticks
    assert ticks is not None
    count = min(baseline_ticks, n_ticks)
    started = time.perf_counter()
    with naive.lock:
        for value in ticks[:count].tolist():
            venue.on_price(SYMBOL, value, manual=False)
    naive_s = time.perf_counter() - started

    def rate(ticks_done: int, seconds: float) -> float:
        return round(ticks_done / seconds) if seconds > 0 else float("inf")

    return {
        "benchmark": "simulator_core",
        "python": platform.python_version(),
        "path_ticks": n_ticks,
        "resting_orders": 100,
        "none_crossing": {
            "seconds": round(quiet_s, 4),
            "ticks_per_s": rate(n_ticks, quiet_s),
            "fills": quiet_events,
        },
        "some_crossing": {
            "seconds": round(busy_s, 4),
            "ticks_per_s": rate(n_ticks, busy_s),
            "fills": busy_events,
        },
        "naive_per_tick_baseline": {
            "ticks": count,
            "seconds": round(naive_s, 4),
            "ticks_per_s": rate(count, naive_s),
        },
        "speedup_none_crossing_vs_naive": round(rate(n_ticks, quiet_s) / rate(count, naive_s), 1),
        "target": "1,000,000 ticks with 100 non-crossing orders well under 1 s",
        "target_met": quiet_s < 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--baseline-ticks", type=int, default=200_000)
    args = parser.parse_args()
    print(json.dumps(run(args.ticks, args.baseline_ticks), indent=2))


if __name__ == "__main__":
    main()
