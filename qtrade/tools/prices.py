"""Move a simulated price (the testing plan's ``simulate_price_movement.py``).

Talks to the simulator's admin API (``qtrade serve --exchange sim`` serves it on the service's
own port and syncs the engine after every call; ``qtrade sim serve`` on its own):

- ``--to PRICE``: one ``POST /admin/price`` on ``--exchange``; every resting order the move
  crosses fills.
- ``--to PRICE --over SECONDS``: a linear move. By default a path keyframe
  ``SYMBOL: PRICE over <ms>ms`` starting at the exchange's current price is loaded with
  ``POST /admin/path`` and played with ``POST /admin/advance`` (one tick per second). Paths
  are per symbol, so the move applies to the symbol on every simulated exchange, and it
  replaces a path loaded earlier for that symbol.
- ``--over SECONDS --steps N``: N ``POST /admin/price`` calls on ``--exchange`` only, each
  after ``/admin/advance`` of SECONDS/N: prices start + (to − start) × k / N, k = 1..N.

Prints one JSON object: exchange, symbol, from, to, final price, mode, clock and the number of
fills the move caused. Exit 0 on success, 1 when the simulator refused a request (its field
error is printed), 2 for bad flags or an unreachable server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from engine.domain import to_decimal
from qtrade.tools.store_args import ToolError
from qtrade.tools.webhook import DEFAULT_URL

__all__ = [
    "MoveResult",
    "price_steps",
    "step_times_ms",
    "path_yaml",
    "move_price",
    "main",
]

_MS = Decimal(1000)


@dataclass(frozen=True, slots=True)
class MoveResult:
    exchange: str
    symbol: str
    start: Decimal
    target: Decimal
    final: Decimal
    mode: str
    clock_ms: int
    fills: int
    events: int
    steps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "from": _text(self.start),
            "to": _text(self.target),
            "price": _text(self.final),
            "mode": self.mode,
            "clock_ms": self.clock_ms,
            "fills": self.fills,
            "events": self.events,
            **({"steps": self.steps} if self.steps else {}),
        }


def _text(value: Decimal) -> str:
    """Positional notation (``100000``, never ``1E+5``) for the simulator."""
    return format(value, "f")


def price_steps(start: Decimal, target: Decimal, steps: int) -> list[Decimal]:
    """``steps`` prices of a linear move, the last one exactly ``target``."""
    if steps < 1:
        raise ToolError("steps: must be >= 1", field="steps", reason="not_positive")
    return [start + (target - start) * k / steps for k in range(1, steps + 1)]


def step_times_ms(over_ms: int, steps: int) -> list[int]:
    """Milliseconds to advance before each step: whole ms summing to ``over_ms``."""
    marks = [
        int((Decimal(over_ms) * k / steps).to_integral_value(ROUND_HALF_UP))
        for k in range(steps + 1)
    ]
    return [marks[k + 1] - marks[k] for k in range(steps)]


def path_yaml(symbol: str, start: Decimal, target: Decimal, over_ms: int) -> str:
    """An inline path: ``symbol`` starts at ``start`` and moves linearly to ``target``."""
    step = "1s" if over_ms >= 1000 else f"{max(over_ms, 1)}ms"
    return (
        f"step: {step}\n"
        f"prices: {{{symbol}: '{_text(start)}'}}\n"
        "timeline:\n"
        f"  - {symbol}: {_text(target)} over {over_ms}ms\n"
    )


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise ToolError(
            f"url: cannot reach the simulator admin API: {exc}",
            field="url",
            reason="unreachable",
        ) from None
    try:
        body: Any = response.json()
    except ValueError:
        body = {"text": response.text}
    if response.status_code == 404:
        raise ToolError(
            f"url: {path} not found: is this a simulator (qtrade serve --exchange sim)?",
            field="url",
            reason="no_admin_api",
        )
    if not response.is_success:
        detail = body.get("detail") if isinstance(body, dict) else body
        loc = ""
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            loc = str((detail[0].get("loc") or ["", "?"])[-1])
            detail = detail[0].get("msg", detail)
        raise ToolError(
            f"{loc or 'request'}: the simulator refused {method} {path}: {detail}",
            field=loc or "request",
            reason="refused",
            exit_code=1,
        )
    if not isinstance(body, dict):
        raise ToolError(f"url: unexpected answer from {path}", field="url", reason="bad_answer")
    return body


def _current_price(client: httpx.Client, exchange: str, symbol: str) -> Decimal:
    prices = _call(client, "GET", "/admin/prices", params={"exchange": exchange})
    venue: dict[str, Any] = next(iter(prices.values()), {}) if len(prices) == 1 else {}
    if symbol not in venue:
        raise ToolError(
            f"symbol: {symbol} is not a market on {exchange}",
            field="symbol",
            reason="unknown_symbol",
            exit_code=1,
        )
    return Decimal(str(venue[symbol]))


def _fills(events: Sequence[dict[str, Any]]) -> int:
    return sum(1 for event in events if event.get("trade") is not None)


def move_price(
    client: httpx.Client,
    exchange: str,
    symbol: str,
    target: Decimal,
    *,
    over_seconds: Decimal | None = None,
    steps: int | None = None,
) -> MoveResult:
    """Move ``symbol`` on ``exchange`` to ``target`` through the admin API of ``client``."""
    symbol = symbol.upper().replace("/", "")
    exchange = exchange.lower()
    if target <= 0:
        raise ToolError("to: must be positive", field="to", reason="not_positive")
    if steps is not None and (over_seconds is None or over_seconds == 0):
        raise ToolError("steps: needs --over > 0", field="steps", reason="needs_over")
    start = _current_price(client, exchange, symbol)
    events: list[dict[str, Any]] = []
    shown: list[str] = []
    if over_seconds is None or over_seconds == 0:
        body = {"exchange": exchange, "symbol": symbol, "price": _text(target)}
        answer = _call(client, "POST", "/admin/price", json=body)
        events += answer["events"]
        mode = "set"
    else:
        over_ms = _milliseconds(over_seconds)
        if steps is None:
            yaml_text = path_yaml(symbol, start, target, over_ms)
            events += _call(client, "POST", "/admin/path", json={"yaml": yaml_text})["events"]
            advance = {"seconds": str(Decimal(over_ms) / _MS)}
            events += _call(client, "POST", "/admin/advance", json=advance)["events"]
            mode = "path"
        else:
            for wait_ms, price in zip(
                step_times_ms(over_ms, steps), price_steps(start, target, steps), strict=True
            ):
                if wait_ms:
                    advance = {"seconds": str(Decimal(wait_ms) / _MS)}
                    events += _call(client, "POST", "/admin/advance", json=advance)["events"]
                body = {"exchange": exchange, "symbol": symbol, "price": _text(price)}
                answer = _call(client, "POST", "/admin/price", json=body)
                events += answer["events"]
                shown.append(str(answer["price"]))
            mode = "steps"
    final = _current_price(client, exchange, symbol)
    status = _call(client, "GET", "/admin/status")
    return MoveResult(
        exchange=exchange,
        symbol=symbol,
        start=start,
        target=target,
        final=final,
        mode=mode,
        clock_ms=int(status.get("clock_ms", 0)),
        fills=_fills(events),
        events=len(events),
        steps=shown,
    )


def _milliseconds(seconds: Decimal) -> int:
    if seconds < 0:
        raise ToolError("over: must be >= 0 seconds", field="over", reason="negative")
    milliseconds = seconds * _MS
    if milliseconds != milliseconds.to_integral_value():
        raise ToolError("over: at most 3 decimals", field="over", reason="too_precise")
    return int(milliseconds)


def _decimal_flag(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return to_decimal(value, field=name)
    except (ValueError, TypeError) as exc:
        raise ToolError(str(exc), field=name, reason="invalid_decimal") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulate_price_movement.py",
        description="Move a simulated price through the simulator's admin API.",
    )
    parser.add_argument("--exchange", required=True, help="binance or bybit")
    parser.add_argument("--symbol", required=True, help="e.g. BTCUSDT")
    parser.add_argument("--to", required=True, help="target price")
    parser.add_argument("--over", help="seconds the move takes (default: at once)")
    parser.add_argument("--steps", type=int, help="N /admin/price steps instead of a path")
    parser.add_argument("--url", default=os.environ.get("QTRADE_URL", DEFAULT_URL))
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        target = _decimal_flag(args.to, "to")
        over = _decimal_flag(args.over, "over")
        assert target is not None
        with httpx.Client(base_url=args.url.rstrip("/"), timeout=args.timeout) as client:
            result = move_price(
                client, args.exchange, args.symbol, target, over_seconds=over, steps=args.steps
            )
    except ToolError as exc:
        return exc.report()
    print(json.dumps(result.to_json()))
    if result.final != target:
        print(f"note: the exchange rounded {target} to its tick: {result.final}", file=sys.stderr)
    return 0
