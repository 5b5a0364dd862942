"""``qtrade data``: price data for backtests.

    qtrade data fetch --exchange binance --symbol BTCUSDT [--symbol ETHUSDT] --timeframe 1m
        --since 2025-01-01 [--until 2025-02-01] --out DIR [--base-url http://127.0.0.1:8000]
    qtrade data generate --out DIR --days 365 [--symbols BTCUSDT ETHUSDT ...] --seed 7
        [--bar 1m] [--start 2025-01-01] [--format parquet|csv]

``fetch`` downloads candles through ccxt (paginated, resumable: a second run continues after
the last stored candle) into ``<SYMBOL>.parquet`` files. ``generate`` writes a seeded
regime-switching random walk per symbol (start prices from the seed's price table, tick
sizes from the exchange's markets); the same seed gives the same files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from backtest.data_fetch import DataFetchError, fetch_candles, timeframe_ms
from backtest.signal_sources import parse_time_ms
from backtest.synthetic import write_bars
from simulator.markets import load_venue_specs
from simulator.paths import SEED_START_PRICES

__all__ = ["register", "run_fetch", "run_generate"]

_DEFAULT_START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def _time(text: str) -> int:
    try:
        return parse_time_ms(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "data",
        help="download or generate price data for backtests",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    fetch = actions.add_parser("fetch", help="download candles through ccxt (resumable)")
    fetch.add_argument("--exchange", default="binance")
    fetch.add_argument("--symbol", action="append", required=True, dest="symbols")
    fetch.add_argument("--timeframe", default="1m")
    fetch.add_argument("--since", type=_time, required=True, help="ISO date/time or epoch ms")
    fetch.add_argument("--until", type=_time, help="default: now (the exchange's clock)")
    fetch.add_argument("--out", type=Path, required=True)
    fetch.add_argument("--base-url", help="send requests here (e.g. the simulator)")
    fetch.add_argument("--page-limit", type=int, default=1000)
    fetch.set_defaults(handler=run_fetch)
    generate = actions.add_parser("generate", help="write seeded synthetic bars")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--days", type=int, required=True)
    generate.add_argument("--symbols", nargs="+", default=sorted(SEED_START_PRICES))
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--bar", default="1m", help="bar length: 1m, 5m, 1h...")
    generate.add_argument("--start", type=_time, default=_DEFAULT_START_MS)
    generate.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    generate.add_argument("--exchange", default="binance", help="tick sizes from this exchange")
    generate.set_defaults(handler=run_generate)
    parser.set_defaults(handler=lambda _args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_fetch(args: argparse.Namespace) -> int:
    results = []
    try:
        for symbol in args.symbols:
            result = fetch_candles(
                exchange=args.exchange,
                symbol=symbol,
                timeframe=args.timeframe,
                since_ms=args.since,
                until_ms=args.until,
                out_dir=args.out,
                base_url=args.base_url,
                page_limit=args.page_limit,
            )
            results.append(
                {
                    "symbol": result.symbol,
                    "file": str(result.path),
                    "rows_before": result.rows_before,
                    "rows_added": result.rows_added,
                    "first_ms": result.first_ms,
                    "last_ms": result.last_ms,
                    "requests": result.requests,
                }
            )
    except DataFetchError as exc:
        print(f"qtrade data fetch: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # ccxt network and exchange errors: report, do not trace
        if type(exc).__module__.startswith("ccxt"):
            print(f"qtrade data fetch: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        raise
    print(json.dumps({"exchange": args.exchange, "timeframe": args.timeframe, "files": results}))
    return 0


def run_generate(args: argparse.Namespace) -> int:
    try:
        bar_ms = timeframe_ms(args.bar)
    except DataFetchError as exc:
        print(f"qtrade data generate: {exc}", file=sys.stderr)
        return 2
    if args.days <= 0:
        print("qtrade data generate: --days: must be > 0", file=sys.stderr)
        return 2
    markets = load_venue_specs()[args.exchange].markets if args.exchange else {}
    symbols = [s.upper() for s in args.symbols]
    unknown = [s for s in symbols if s not in SEED_START_PRICES]
    if unknown:
        print(f"qtrade data generate: --symbols: no start price for {unknown}", file=sys.stderr)
        return 2
    prices = {symbol: float(SEED_START_PRICES[symbol]) for symbol in symbols}
    ticks = {s: float(markets[s].tick) for s in symbols if s in markets}
    bars = args.days * 86_400_000 // bar_ms
    paths = write_bars(
        args.out,
        prices,
        bars,
        seed=args.seed,
        tick_sizes=ticks,
        fmt=args.format,
        bar_ms=bar_ms,
        start_ms=args.start,
    )
    print(json.dumps({"bars_per_symbol": bars, "files": [str(p) for p in paths]}))
    return 0
