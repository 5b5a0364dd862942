"""``qtrade sim serve``: run the exchange simulator alone (Binance spot v3 at ``/api/v3``, Bybit
v5 at ``/v5``, admin API at ``/admin``) and print one JSON line with the base URL and the
default account's API key and secret (deterministic for a seed: see
``simulator.server.default_credentials``)."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from engine.domain import to_decimal

__all__ = ["register", "run_serve", "parse_balances"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sim", help="the exchange simulator")
    actions = parser.add_subparsers(dest="sim_command", metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the simulator's Binance and Bybit REST faces and admin API",
        description="Serve the simulator over HTTP until interrupted. Prints one JSON line "
        '{"base_url", "api_key", "api_secret"} for the default account first.',
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=8900, help="TCP port (default 8900; 0 picks a free one)"
    )
    serve.add_argument("--path", help="a price path file to load (.yaml, .yml or .csv)")
    serve.add_argument("--symbol", help="the symbol of a --path CSV file whose rows do not name it")
    serve.add_argument("--seed", type=int, default=0, help="simulator seed (default 0)")
    serve.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="ASSET=AMOUNT",
        help="default account balance, repeatable (default USDT=100000)",
    )
    serve.add_argument(
        "--lost-delay-ms",
        type=int,
        default=None,
        help="how long a response_lost fault holds the answer before dropping the "
        "connection (default 11000, past ccxt's 10 s timeout)",
    )
    serve.add_argument("--markets-dir", help="venue files directory (default scenarios/markets)")
    serve.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info"]
    )
    serve.set_defaults(handler=run_serve)
    parser.set_defaults(handler=lambda _args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def parse_balances(items: list[str]) -> dict[str, Decimal] | None:
    """``["USDT=100000", "BTC=0.5"]`` → balances; None when empty (the default applies)."""
    if not items:
        return None
    balances: dict[str, Decimal] = {}
    for item in items:
        asset, sep, amount = item.partition("=")
        if not sep or not asset.strip():
            raise ValueError(f"--balance: expected ASSET=AMOUNT, got {item!r}")
        value = to_decimal(amount, field=f"--balance {asset.strip().upper()}")
        if value < 0:
            raise ValueError(f"--balance {asset.strip().upper()}: must be >= 0")
        balances[asset.strip().upper()] = value
    return balances


def run_serve(args: argparse.Namespace) -> int:
    from simulator.exchange import Simulator
    from simulator.server import (
        DEFAULT_RESPONSE_LOST_DELAY_MS,
        bind_socket,
        create_app,
        describe,
        install_default_account,
        serve_forever,
    )

    try:
        balances = parse_balances(args.balance)
        if args.port < 0 or args.port > 65535:
            raise ValueError(f"--port: must be 0..65535, got {args.port}")
        lost_delay = (
            DEFAULT_RESPONSE_LOST_DELAY_MS if args.lost_delay_ms is None else args.lost_delay_ms
        )
        sim = Simulator(seed=args.seed, markets_dir=args.markets_dir)
        if args.path:
            sim.load_path(args.path, symbol=args.symbol)
        api_key, api_secret = install_default_account(sim, balances)
        app = create_app(sim, response_lost_delay_ms=lost_delay)
        sock = bind_socket(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"qtrade sim serve: {exc}", file=sys.stderr)
        return 1
    host, port = sock.getsockname()[:2]
    print(json.dumps(describe(f"http://{host}:{port}", api_key, api_secret)), flush=True)
    serve_forever(app, sock, log_level=args.log_level)
    return 0
