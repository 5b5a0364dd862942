"""``qtrade backtest``: replay price history and signals through the engine and the simulator.

    qtrade backtest --prices DIR --signals FILE --config FILE --out DIR
        [--signals-format jsonl|tradingview --symbol BTCUSDT --timeframe 60]
        [--exchange binance] [--balance 10000] [--slippage-bps 0] [--step] [--progress]

Writes ``backtest_report.json``, ``run.json``, ``report.html``, ``trades.csv``,
``equity.csv``, ``equity.png`` and ``drawdown.png`` to ``--out`` and prints a one-line JSON
summary. ``--config`` may be repeated (one user each; a JSONL payload with a top-level
``user_id`` goes to that user only, others to every user). Exit codes: 0 done, 2 bad input,
130 interrupted (the partial report is still written). See docs/backtesting.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from backtest.price_path import PathBuildError
from backtest.prices import PriceDataError
from backtest.runner import (
    SIGNAL_FORMATS,
    BacktestRequest,
    default_progress_stream,
    run_backtest,
)
from backtest.setup import BacktestInputError
from backtest.signal_sources import SignalSourceError
from engine.config import ConfigError

__all__ = ["register", "run", "add_input_arguments", "request_from_args", "INPUT_ERRORS"]

INPUT_ERRORS = (
    BacktestInputError,
    SignalSourceError,
    PriceDataError,
    PathBuildError,
    ConfigError,
    ValueError,
    FileNotFoundError,
)


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``backtest`` and ``sweep``."""
    parser.add_argument(
        "--prices", type=Path, required=True, help="folder of <SYMBOL>.csv/.parquet"
    )
    parser.add_argument("--signals", type=Path, required=True, help="JSONL payloads or TV CSV")
    parser.add_argument("--signals-format", choices=SIGNAL_FORMATS, default="jsonl")
    parser.add_argument("--symbol", help="symbol of a TradingView trade list")
    parser.add_argument("--timeframe", default="60", help="timeframe of a TradingView trade list")
    parser.add_argument("--exchange", default="binance", help="exchange of a trade list")
    parser.add_argument("--balance", type=_decimal, default=Decimal(10_000), help="USDT per user")
    parser.add_argument("--slippage-bps", type=_decimal, default=Decimal(0))
    parser.add_argument(
        "--fee-asset",
        choices=("quote", "base"),
        default="quote",
        help="asset spot buys pay their fee in (default quote; see docs/backtesting.md)",
    )
    parser.add_argument("--markets", type=Path, help="folder of exchange market files")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="replay price history and signals through the engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("--config", type=Path, action="append", required=True, dest="configs")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--step", action="store_true", help="walk every intrabar tick")
    parser.add_argument("--progress", action="store_true", help="progress bar even without a TTY")
    parser.add_argument("--no-render", action="store_true", help="JSON only (no HTML/CSV/PNG)")
    parser.set_defaults(handler=run)


def request_from_args(args: argparse.Namespace, **changes: Any) -> BacktestRequest:
    values: dict[str, Any] = {
        "prices": args.prices,
        "signals": args.signals,
        "configs": list(getattr(args, "configs", None) or [args.config]),
        "out": getattr(args, "out", None),
        "signals_format": args.signals_format,
        "symbol": args.symbol,
        "timeframe": args.timeframe,
        "exchange": args.exchange.lower(),
        "balance": args.balance,
        "step": getattr(args, "step", False),
        "slippage_bps": args.slippage_bps,
        "fee_asset": args.fee_asset,
        "markets_dir": args.markets,
        "render": not getattr(args, "no_render", False),
    }
    values.update(changes)
    return BacktestRequest(**values)


def run(args: argparse.Namespace) -> int:
    try:
        request = request_from_args(args)
        outcome = run_backtest(request, progress_stream=default_progress_stream(args.progress))
    except INPUT_ERRORS as exc:
        print(f"qtrade backtest: {exc}", file=sys.stderr)
        return 2
    metrics = outcome.report.metrics
    print(
        json.dumps(
            {
                "status": outcome.result.status,
                "out": str(args.out),
                "trades": metrics.total_trades,
                "closed_trades": metrics.closed_trades,
                "total_return_percent": None
                if metrics.total_return_percent is None
                else str(metrics.total_return_percent),
                "ending_equity": str(metrics.ending_equity),
                "max_drawdown_percent": None
                if metrics.max_drawdown_percent is None
                else str(metrics.max_drawdown_percent),
                "fills": outcome.summary["fills"],
                "risk_actions": outcome.summary["risk_actions"],
                "skipped_signals": len(outcome.summary["skipped_signals"]),
            }
        )
    )
    return 130 if outcome.result.status == "interrupted" else 0
