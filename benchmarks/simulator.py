"""Benchmark: the simulator in-process (ticks/s, from benchmarks/simulator_core.py) and over
REST on loopback (ccxt ``create_order`` + ``fetch_order`` round trip, p50 and p99).

The server runs in its own process (``qtrade sim serve --port 0``) so client and server do
not share a GIL, as in real use. A baseline measured in the same run: a bare
``GET /api/v3/ping`` over the same HTTP session ccxt uses, and ccxt's ``fetch_time`` (one
unsigned ccxt call). Prints one JSON document.

    .venv/bin/python benchmarks/simulator.py [--iterations 300] [--warmup 30]
        [--core-ticks 1000000] [--skip-core]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt

__all__ = ["main", "rest_round_trips", "percentiles"]

ROOT = Path(__file__).resolve().parent.parent
TARGET_P50_MS = 5.0


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50, p99, mean and max of durations in seconds, reported in milliseconds."""
    ordered = sorted(samples_s)
    p99_index = min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[p99_index] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _timed(call: Callable[[], object], iterations: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _start_server() -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [
        sys.executable,
        "-c",
        "from qtrade.cli import main; raise SystemExit(main())",
        "sim",
        "serve",
        "--port",
        "0",
        "--balance",
        "USDT=1000000000",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("qtrade sim serve printed nothing")
    return process, json.loads(line)


def _ccxt_binance(base_url: str, api_key: str, api_secret: str) -> Any:
    exchange = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": api_secret,
            "enableRateLimit": False,
            "options": {
                "fetchCurrencies": False,
                "fetchMargins": False,
                "fetchMarkets": {"types": ["spot"]},
            },
        }
    )
    exchange.urls["api"] = {
        key: re.sub(r"^https?://[^/]+", base_url, value) if isinstance(value, str) else value
        for key, value in exchange.urls["api"].items()
    }
    return exchange


def rest_round_trips(iterations: int, warmup: int) -> dict[str, Any]:
    """Measure the loopback REST numbers against a freshly started server process."""
    process, credentials = _start_server()
    try:
        base_url = credentials["base_url"]
        exchange = _ccxt_binance(base_url, credentials["api_key"], credentials["api_secret"])
        exchange.load_markets()
        session = exchange.session  # the requests.Session ccxt sends through
        ping = _timed(lambda: session.get(base_url + "/api/v3/ping"), iterations, warmup)
        fetch_time = _timed(exchange.fetch_time, iterations, warmup)

        def create_and_fetch() -> None:
            order = exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 90000)
            exchange.fetch_order(order["id"], "BTC/USDT")

        round_trips = _timed(create_and_fetch, iterations, warmup)
    finally:
        process.terminate()
        process.wait(timeout=10)
    create_fetch = percentiles(round_trips)
    ping_p50 = percentiles(ping)["p50_ms"]
    return {
        "server": "qtrade sim serve (separate process, uvicorn h11, loopback)",
        "client": f"ccxt {ccxt.__version__} sync binance",
        "iterations": iterations,
        "warmup": warmup,
        "create_order_plus_fetch_order": create_fetch,
        "baseline_bare_ping_round_trip": percentiles(ping),
        "baseline_ccxt_fetch_time": percentiles(fetch_time),
        # Load-independent view: two signed ccxt calls cost this many bare pings.
        "create_fetch_p50_over_ping_p50": round(create_fetch["p50_ms"] / ping_p50, 2),
        "target_p50_ms": TARGET_P50_MS,
        "meets_target": create_fetch["p50_ms"] < TARGET_P50_MS,
    }


def _core(ticks: int) -> dict[str, Any]:
    core_file = ROOT / "benchmarks" / "simulator_core.py"
    if not core_file.exists():
        return {"skipped": "benchmarks/simulator_core.py not present"}
    sys.path.insert(0, str(ROOT))
    from benchmarks import simulator_core

    result: dict[str, Any] = simulator_core.run(n_ticks=ticks)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--core-ticks", type=int, default=1_000_000)
    parser.add_argument("--skip-core", action="store_true")
    args = parser.parse_args(argv)
    report = {
        "benchmark": "simulator",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "core": {"skipped": "--skip-core"} if args.skip_core else _core(args.core_ticks),
        "rest": rest_round_trips(args.iterations, args.warmup),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
