"""Benchmark: the fast backtest replay against ``--step`` on a year of 1-minute bars.

Input: one year of 1-minute bars (525,600 per symbol) for each of the nine seed symbols,
generated with :mod:`backtest.synthetic` (seed fixed, Binance tick sizes) and cached as
Parquet under ``var/bench-data``; the seed user's config (``scenarios/users/maaz.json``); an
entry signal every 4 hours per symbol (at the bar open). Prints JSON: bars/s of the fast
replay over the whole year, bars/s of the step replay over the first ``--step-days`` days
(the step replay walks every tick in Python; a year of it would take hours), bars/s of the
fast replay over that same slice, and the ratios. Times exclude reading the Parquet files;
``setup_seconds`` (paths, simulator, engines) is reported apart from the replay itself.

    .venv/bin/python benchmarks/backtest.py [--days 365] [--step-days 14] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a script, this file's folder is first on sys.path and the file's name would shadow
# the ``backtest`` package: put the project root there instead.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import pandas as pd

from backtest.prices import load_price_folder
from backtest.setup import ReplayOptions, UserSetup, build_replay
from backtest.signal_sources import TimedPayload
from backtest.synthetic import write_bars
from engine.config import load_user_config
from simulator.markets import load_venue_specs
from simulator.paths import SEED_START_PRICES

__all__ = ["run", "main", "signals_every", "bench_data"]

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "scenarios" / "users" / "maaz.json"
MINUTE_MS = 60_000
DAY_MS = 86_400_000
SIGNAL_EVERY_MS = 4 * 3_600_000


def bench_data(folder: Path, days: int, seed: int) -> Path:
    """The cached data set (generated on first use)."""
    target = folder / f"seed{seed}-{days}d"
    if not (target / "BTCUSDT.parquet").exists():
        ticks = {s: float(m.tick) for s, m in load_venue_specs()["binance"].markets.items()}
        prices = {symbol: float(price) for symbol, price in SEED_START_PRICES.items()}
        write_bars(target, prices, days * 1440, seed=seed, tick_sizes=ticks)
    return target


def signals_every(
    start_ms: int, end_ms: int, every_ms: int = SIGNAL_EVERY_MS
) -> list[TimedPayload]:
    """An entry (buy) signal per seed symbol every ``every_ms`` in [start, end)."""
    payloads = []
    line = 0
    for at_ms in range(start_ms, end_ms, every_ms):
        for symbol in sorted(SEED_START_PRICES):
            line += 1
            payload = {
                "timestamp": at_ms,
                "tv": {"exchange": "binance", "symbol": symbol, "timeframe": 240, "action": "buy"},
                "execution_intent": {"type": "signal"},
            }
            payloads.append(TimedPayload(at_ms, payload, line))
    return payloads


def _replay(frames: dict[str, pd.DataFrame], days: int, step: bool) -> dict[str, Any]:
    start = min(int(frame["ts_ms"].iloc[0]) for frame in frames.values())
    end = start + days * DAY_MS
    sliced = {s: f[f["ts_ms"] < end].reset_index(drop=True) for s, f in frames.items()}
    bars = sum(len(frame) for frame in sliced.values())
    user = UserSetup("maaz", load_user_config(CONFIG), {"USDT": Decimal(10_000)})
    began = time.perf_counter()
    replay = build_replay(
        frames=sliced,
        payloads=signals_every(start, end),
        users=[user],
        options=ReplayOptions(step=step),
    )
    built = time.perf_counter()
    result = replay.run()
    finished = time.perf_counter()
    recording = result.recording
    return {
        "mode": "step" if step else "fast",
        "days": days,
        "bars": bars,
        "setup_seconds": round(built - began, 3),
        "replay_seconds": round(finished - built, 3),
        "total_seconds": round(finished - began, 3),
        "bars_per_second": round(bars / (finished - built)),
        "moments_visited": result.moments,
        "event_times": result.event_times,
        "fills": len(recording.fills),
        "orders": len(recording.orders),
        "risk_actions": len(recording.risk_actions),
        "stops_by_reason": result.stats,
        "status": result.status,
    }


def run(
    days: int = 365, step_days: int = 14, seed: int = 42, data: Path | None = None
) -> dict[str, Any]:
    folder = bench_data(data or ROOT / "var" / "bench-data", days, seed)
    loading = time.perf_counter()
    frames = load_price_folder(folder)
    load_seconds = time.perf_counter() - loading
    fast = _replay(frames, days, step=False)
    fast_slice = _replay(frames, step_days, step=False)
    step = _replay(frames, step_days, step=True)
    return {
        "benchmark": "backtest replay",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "symbols": len(frames),
        "bars_per_symbol": days * 1440,
        "signal_every_hours": SIGNAL_EVERY_MS // 3_600_000,
        "load_parquet_seconds": round(load_seconds, 3),
        "fast_year": fast,
        "fast_slice": fast_slice,
        "step_slice": step,
        "target_year_seconds": 10,
        "year_within_target": fast["total_seconds"] < 10,
        "speedup_fast_year_vs_step": round(fast["bars_per_second"] / step["bars_per_second"], 1),
        "speedup_same_slice": round(fast_slice["bars_per_second"] / step["bars_per_second"], 1),
        "target_speedup": 20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--step-days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, default=None, help="cache folder (var/bench-data)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.days, args.step_days, args.seed, args.data), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
