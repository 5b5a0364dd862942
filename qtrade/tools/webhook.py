"""Build and send TradingView-style webhooks exactly as the testing plan's
``scripts/simulate_webhook.py`` command lines describe them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = ["DEFAULT_URL", "build_payload", "webhook_parser", "send_webhook", "main"]

DEFAULT_URL = "http://127.0.0.1:8000"


def webhook_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulate_webhook.py", description="Send one TradingView-style webhook."
    )
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--timeframe", required=True)
    parser.add_argument("--action", choices=["buy", "sell"])
    parser.add_argument("--side", choices=["long", "short", "buy", "sell"])
    parser.add_argument("--type", default="signal", choices=["signal", "exit", "reduce", "reverse"])
    parser.add_argument("--entry-price")
    parser.add_argument("--close-price")
    parser.add_argument("--order-size")
    parser.add_argument("--position-size-type", default="contracts")
    parser.add_argument("--trade-id")
    parser.add_argument("--stop-loss")
    parser.add_argument("--take-profit")
    parser.add_argument("--url", default=os.environ.get("QTRADE_URL", DEFAULT_URL))
    parser.add_argument("--timeout", type=float, default=10.0)
    return parser


def _action(args: argparse.Namespace) -> str:
    if args.action:
        return str(args.action)
    side = args.side or "long"
    if args.type == "exit":
        return "sell" if side in ("long", "buy") else "buy"
    return "buy" if side in ("long", "buy") else "sell"


def build_payload(args: argparse.Namespace, *, timestamp: str | None = None) -> dict[str, Any]:
    """The SPEC §2 payload for the plan's flags. Prices and sizes stay strings as typed, so
    nothing passes through a float."""
    tv: dict[str, Any] = {
        "exchange": args.exchange,
        "symbol": args.symbol,
        "timeframe": args.timeframe,
        "action": _action(args),
    }
    for flag, key in (
        ("entry_price", "entry_price"),
        ("close_price", "close_price"),
        ("order_size", "order_size"),
    ):
        value = getattr(args, flag)
        if value is not None:
            tv[key] = value
    intent: dict[str, Any] = {"type": args.type, "position_size_type": args.position_size_type}
    if args.side:
        intent["side"] = args.side
    payload: dict[str, Any] = {
        "secret": args.secret,
        "source": "tradingview",
        "timestamp": timestamp or datetime.now(UTC).isoformat(timespec="milliseconds"),
        "tv": tv,
        "execution_intent": intent,
    }
    if args.trade_id:
        payload["strategy_info"] = {"trade_id": args.trade_id}
    risk = {
        k: v for k, v in (("stop_loss", args.stop_loss), ("take_profit", args.take_profit)) if v
    }
    if risk:
        payload["risk"] = risk
    return payload


def send_webhook(
    url: str, user_id: str, payload: dict[str, Any], *, timeout: float = 10.0
) -> httpx.Response:
    endpoint = f"{url.rstrip('/')}/webhooks/{user_id}"
    return httpx.post(endpoint, json=payload, timeout=timeout)


def main(argv: Sequence[str] | None = None) -> int:
    args = webhook_parser().parse_args(argv)
    payload = build_payload(args)
    try:
        response = send_webhook(args.url, args.user_id, payload, timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(json.dumps({"error": "connection_failed", "message": str(exc)}), file=sys.stderr)
        return 2
    try:
        body: Any = response.json()
    except ValueError:
        body = {"status_code": response.status_code, "text": response.text}
    print(json.dumps({"status_code": response.status_code, "response": body}))
    return 0 if response.is_success else 1
