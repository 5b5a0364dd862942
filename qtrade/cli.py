"""The ``qtrade`` command. Each sub-command lives in its own module under ``qtrade.commands``
and exposes ``register(subparsers)``; this file only assembles them."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

# Modules under qtrade.commands, in the order their commands appear in --help.
_COMMAND_MODULES = ("demo", "run", "sim", "serve", "users", "config", "backtest", "sweep", "data")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qtrade",
        description="Test harness and backtesting engine for a TradingView-driven DCA engine.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"qtrade.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"qtrade.commands.{name}":
                continue  # command not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
