"""The ONE place where ccxt exceptions become the project's errors (``engine.errors``).

:func:`translate` first reads the exchange's own error code out of the message (ccxt puts the
response body there: ``binance {"code":-2010,"msg":"..."}``) and looks it up in the venue's
table below, because ccxt's class alone misleads in places (binance ``-2015`` bad keys comes
out as ``DDoSProtection`` after a successful private call; ``-1013`` NOTIONAL as a bare
``BadRequest``). Only then does it fall back to the ccxt class hierarchy.

Reason codes on :class:`OrderRejectedError` (shared with the simulator adapter):
``filter_failure`` (tick/step/lot filters), ``below_min_notional``, ``below_min_qty``,
``insufficient_balance``, ``unknown_symbol``, ``duplicate_client_order_id``,
``order_rejected`` (anything else).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ccxt

from engine.errors import (
    AuthFailed,
    ExchangeFailure,
    InsufficientBalance,
    NotFound,
    OrderRejectedError,
    RateLimited,
    TransientError,
)

__all__ = [
    "FILTER_FAILURE",
    "BELOW_MIN_NOTIONAL",
    "BELOW_MIN_QTY",
    "INSUFFICIENT_BALANCE",
    "UNKNOWN_SYMBOL",
    "DUPLICATE_CLIENT_ORDER_ID",
    "ORDER_REJECTED",
    "FILTER_REASONS",
    "TRANSLATABLE",
    "VenueError",
    "parse_body",
    "retry_after_seconds",
    "translate",
]

FILTER_FAILURE = "filter_failure"
BELOW_MIN_NOTIONAL = "below_min_notional"
BELOW_MIN_QTY = "below_min_qty"
INSUFFICIENT_BALANCE = "insufficient_balance"
UNKNOWN_SYMBOL = "unknown_symbol"
DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
ORDER_REJECTED = "order_rejected"
# Rejections that mean "our market rules are stale": refresh them (SPEC §5).
FILTER_REASONS = frozenset({FILTER_FAILURE, BELOW_MIN_NOTIONAL, BELOW_MIN_QTY})

# What the adapter catches and hands to translate(); anything else is a bug and propagates.
TRANSLATABLE: tuple[type[BaseException], ...] = (ccxt.BaseError, OSError, asyncio.TimeoutError)

_AUTH = "auth"
_RATE = "rate"
_NOT_FOUND = "not_found"
_TRANSIENT = "transient"
_INSUFFICIENT = "insufficient"


@dataclass(frozen=True, slots=True)
class VenueError:
    """What one exchange error code means: a kind, or a rejection reason."""

    kind: str  # _AUTH, _RATE, _NOT_FOUND, _TRANSIENT, _INSUFFICIENT or "rejected"
    reason: str = ORDER_REJECTED


def _rejected(reason: str) -> VenueError:
    return VenueError("rejected", reason)


# Exchange codes (as strings) -> meaning. Sources: Binance spot "Error codes" and Bybit v5
# "Error Codes" pages, and the codes ccxt 4.5 maps (reference/ccxt_contract.md §7).
_CODES: dict[str, dict[str, VenueError]] = {
    "binance": {
        "-1003": VenueError(_RATE),  # too many requests
        "-1015": VenueError(_RATE),  # too many new orders
        "-1021": VenueError(_TRANSIENT),  # timestamp outside recvWindow: clock drift, retry
        "-1001": VenueError(_TRANSIENT),  # internal error / disconnected
        "-1007": VenueError(_TRANSIENT),  # backend timeout, status unknown
        "-1022": VenueError(_AUTH),  # bad signature
        "-2014": VenueError(_AUTH),  # API-key format invalid
        "-2015": VenueError(_AUTH),  # invalid API-key, IP, or permissions
        "-1121": _rejected(UNKNOWN_SYMBOL),
        "-2011": VenueError(_NOT_FOUND),  # unknown order sent (cancel)
        "-2013": VenueError(_NOT_FOUND),  # order does not exist
    },
    "bybit": {
        "10002": VenueError(_TRANSIENT),  # request time outside recv window
        "10016": VenueError(_TRANSIENT),  # server error
        "10003": VenueError(_AUTH),
        "10004": VenueError(_AUTH),
        "10005": VenueError(_AUTH),
        "10007": VenueError(_AUTH),
        "10009": VenueError(_AUTH),
        "10010": VenueError(_AUTH),
        "10006": VenueError(_RATE),
        "10018": VenueError(_RATE),
        "170222": VenueError(_RATE),
        "110001": VenueError(_NOT_FOUND),
        "170213": VenueError(_NOT_FOUND),
        "20001": VenueError(_NOT_FOUND),
        "170131": VenueError(_INSUFFICIENT),
        "110004": VenueError(_INSUFFICIENT),
        "110007": VenueError(_INSUFFICIENT),
        "110012": VenueError(_INSUFFICIENT),
        "131212": VenueError(_INSUFFICIENT),
        "170136": _rejected(BELOW_MIN_QTY),  # order quantity lower than the minimum
        "170140": _rejected(BELOW_MIN_NOTIONAL),  # order value lower than the minimum
        "170137": _rejected(FILTER_FAILURE),  # too many decimals in quantity
        "170134": _rejected(FILTER_FAILURE),  # too many decimals in price
        "170141": _rejected(DUPLICATE_CLIENT_ORDER_ID),
        "12141": _rejected(DUPLICATE_CLIENT_ORDER_ID),
        "10001": _rejected(ORDER_REJECTED),  # parameter error (symbol invalid among others)
    },
}
# Message fragments (lower case) -> rejection reason, checked in order; binance puts the
# filter's name in the message of -1013 / -2010.
_MESSAGES: tuple[tuple[str, str], ...] = (
    ("duplicate order", DUPLICATE_CLIENT_ORDER_ID),
    ("insufficient balance", INSUFFICIENT_BALANCE),
    ("min_notional", BELOW_MIN_NOTIONAL),
    ("filter failure: notional", BELOW_MIN_NOTIONAL),
    ("lot_size", FILTER_FAILURE),
    ("price_filter", FILTER_FAILURE),
    ("invalid symbol", UNKNOWN_SYMBOL),
    ("symbol invalid", UNKNOWN_SYMBOL),
)
_CODE_KEYS = ("code", "retCode", "ret_code")
_MSG_KEYS = ("msg", "retMsg", "ret_msg", "message")


def parse_body(message: str) -> dict[str, Any] | None:
    """The JSON body ccxt appended to an exception message, if any."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        body = json.loads(message[start:])
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _venue_of(message: str) -> str:
    head = message.split(" ", 1)[0].lower()
    return head if head in _CODES else ""


def retry_after_seconds(headers: Mapping[str, str] | None, now_ms: int | None) -> float | None:
    """``Retry-After`` (seconds) or bybit's ``X-Bapi-Limit-Reset-Timestamp`` (epoch ms)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("retry-after")
    if raw is not None:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            pass
    reset = lowered.get("x-bapi-limit-reset-timestamp")
    if reset is not None and now_ms is not None:
        try:
            return max((int(reset) - now_ms) / 1000, 0.0)
        except ValueError:
            pass
    return None


def _from_message(text: str) -> str | None:
    lowered = text.lower()
    return next((reason for fragment, reason in _MESSAGES if fragment in lowered), None)


def _build(meaning: VenueError, text: str, code: str, retry_after: float | None) -> ExchangeFailure:
    if meaning.kind == _AUTH:
        return AuthFailed(text)
    if meaning.kind == _RATE:
        return RateLimited(text, retry_after_seconds=retry_after)
    if meaning.kind == _NOT_FOUND:
        return NotFound(text)
    if meaning.kind == _TRANSIENT:
        return TransientError(text)
    if meaning.kind == _INSUFFICIENT or meaning.reason == INSUFFICIENT_BALANCE:
        return InsufficientBalance(text, code=code)
    return OrderRejectedError(text, reason=meaning.reason, code=code)


def translate(
    exc: BaseException,
    *,
    headers: Mapping[str, str] | None = None,
    now_ms: int | None = None,
) -> ExchangeFailure:
    """Map a ccxt (or transport) exception to the project's error. ``headers`` are the last
    response headers (for Retry-After); ``now_ms`` is needed for bybit's reset timestamp."""
    if not isinstance(exc, TRANSLATABLE):
        raise TypeError(f"not an exchange error: {type(exc).__name__}: {exc}")
    text = str(exc) or type(exc).__name__
    retry_after = retry_after_seconds(headers, now_ms)
    if not isinstance(exc, ccxt.BaseError):  # raw OSError / asyncio timeout
        return TransientError(text)

    body = parse_body(text)
    venue = _venue_of(text)
    if body is not None and venue:
        code = next((str(body[k]) for k in _CODE_KEYS if k in body), "")
        meaning = _CODES[venue].get(code)
        msg = next((str(body[k]) for k in _MSG_KEYS if k in body), "")
        by_message = _from_message(msg)
        if by_message is not None and (meaning is None or meaning.kind == "rejected"):
            meaning = _rejected(by_message)
        if meaning is not None:
            return _build(meaning, text, code, retry_after)

    return _by_class(exc, text, retry_after)


def _by_class(exc: ccxt.BaseError, text: str, retry_after: float | None) -> ExchangeFailure:
    # Order matters: subclasses before their bases (see contract §7's hierarchy).
    if isinstance(exc, ccxt.AuthenticationError):  # includes PermissionDenied
        return AuthFailed(text)
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return RateLimited(text, retry_after_seconds=retry_after)
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientBalance(text)
    if isinstance(exc, ccxt.OrderNotFound):
        return NotFound(text)
    if isinstance(exc, ccxt.BadSymbol):
        return OrderRejectedError(text, reason=UNKNOWN_SYMBOL)
    if isinstance(exc, (ccxt.InvalidOrder, ccxt.BadRequest, ccxt.OperationRejected)):
        return OrderRejectedError(text, reason=_from_message(text) or ORDER_REJECTED)
    if isinstance(exc, (ccxt.NetworkError, ccxt.OperationFailed)):
        return TransientError(text)  # timeouts, refused connections, 5xx, maintenance
    if isinstance(exc.__cause__, (OSError, asyncio.TimeoutError)) or _is_transport(exc):
        return TransientError(text)
    return ExchangeFailure(text)  # unmapped exchange error: not retryable


def _is_transport(exc: BaseException) -> bool:
    """ccxt wraps some aiohttp failures (payload errors...) in a bare ExchangeError."""
    cause = exc.__cause__
    return cause is not None and type(cause).__module__.startswith("aiohttp")
