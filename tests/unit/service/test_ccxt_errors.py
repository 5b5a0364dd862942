"""``ccxt_errors.translate``: real ccxt exceptions (raised by ccxt's own ``handle_errors`` from
the exchange's HTTP status and body, as in reference/ccxt_contract.md §7) become the engine's
errors with the right reason codes."""

from __future__ import annotations

import json

import ccxt
import pytest

from engine.adapters.ccxt_errors import (
    FILTER_REASONS,
    parse_body,
    retry_after_seconds,
    translate,
)
from engine.errors import (
    AuthFailed,
    ExchangeFailure,
    InsufficientBalance,
    NotFound,
    OrderRejectedError,
    RateLimited,
    TransientError,
)


def ccxt_raises(venue: str, status: int, body: str) -> ccxt.BaseError:
    """The exception ccxt raises for this HTTP answer (its fetch() runs these two checks)."""
    exchange = getattr(ccxt, venue)({"apiKey": "k", "secret": "s"})
    path = "/api/v3/order" if venue == "binance" else "/v5/order/create"
    url = f"http://127.0.0.1:1{path}"
    try:
        response = json.loads(body)
    except ValueError:
        response = None
    try:
        exchange.handle_errors(status, "reason", url, "POST", {}, body, response, {}, "")
        exchange.handle_http_status_code(status, "reason", url, "POST", body)
    except ccxt.BaseError as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {venue} {status} {body}")


def _binance(code: int, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg})


def _bybit(code: int, msg: str) -> str:
    return json.dumps({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": 1})


CASES = [
    # venue, HTTP status, body, expected engine error ("rejected:<reason>" for rejections)
    (
        "binance",
        400,
        _binance(-2010, "Account has insufficient balance for requested action."),
        "insufficient",
    ),
    ("binance", 400, _binance(-1013, "Filter failure: NOTIONAL"), "rejected:below_min_notional"),
    (
        "binance",
        400,
        _binance(-1013, "Filter failure: MIN_NOTIONAL"),
        "rejected:below_min_notional",
    ),
    ("binance", 400, _binance(-1013, "Filter failure: LOT_SIZE"), "rejected:filter_failure"),
    ("binance", 400, _binance(-1013, "Filter failure: PRICE_FILTER"), "rejected:filter_failure"),
    (
        "binance",
        400,
        _binance(-2010, "Duplicate order sent."),
        "rejected:duplicate_client_order_id",
    ),
    (
        "binance",
        400,
        _binance(-2010, "Order would immediately match and take."),
        "rejected:order_rejected",
    ),
    ("binance", 400, _binance(-1121, "Invalid symbol."), "rejected:unknown_symbol"),
    ("binance", 400, _binance(-2013, "Order does not exist."), "not_found"),
    ("binance", 400, _binance(-2011, "Unknown order sent."), "not_found"),
    ("binance", 401, _binance(-2015, "Invalid API-key, IP, or permissions for action."), "auth"),
    ("binance", 400, _binance(-1022, "Signature for this request is not valid."), "auth"),
    ("binance", 429, _binance(-1003, "Too many requests."), "rate"),
    ("binance", 400, _binance(-1003, "Too many requests."), "rate"),
    ("binance", 418, _binance(-1003, "Way too many requests; IP banned."), "rate"),
    (
        "binance",
        400,
        _binance(-1021, "Timestamp for this request is outside of the recvWindow."),
        "transient",
    ),
    (
        "binance",
        500,
        _binance(-1001, "Internal error; unable to process your request."),
        "transient",
    ),
    ("binance", 503, "", "transient"),
    ("binance", 504, "", "transient"),
    ("binance", 200, _binance(-9999, "something new"), "failure"),
    ("bybit", 200, _bybit(170131, "Insufficient balance."), "insufficient"),
    (
        "bybit",
        200,
        _bybit(170140, "Order value exceeded lower limit."),
        "rejected:below_min_notional",
    ),
    (
        "bybit",
        200,
        _bybit(170136, "Order quantity exceeded lower limit."),
        "rejected:below_min_qty",
    ),
    (
        "bybit",
        200,
        _bybit(170137, "Order quantity has too many decimals."),
        "rejected:filter_failure",
    ),
    ("bybit", 200, _bybit(170134, "Order price has too many decimals."), "rejected:filter_failure"),
    ("bybit", 200, _bybit(170141, "Duplicate clientOrderId"), "rejected:duplicate_client_order_id"),
    ("bybit", 200, _bybit(110001, "Order does not exist."), "not_found"),
    ("bybit", 200, _bybit(10003, "API key is invalid."), "auth"),
    (
        "bybit",
        200,
        _bybit(10004, "Error sign, please check your signature generation algorithm."),
        "auth",
    ),
    ("bybit", 200, _bybit(10006, "Too many visits!"), "rate"),
    ("bybit", 403, "forbidden", "rate"),
    (
        "bybit",
        200,
        _bybit(10002, "invalid request, please check your server timestamp"),
        "transient",
    ),
    ("bybit", 502, "<html>bad gateway</html>", "transient"),
]


KINDS: dict[str, type[ExchangeFailure]] = {
    "insufficient": InsufficientBalance,
    "rejected": OrderRejectedError,
    "not_found": NotFound,
    "auth": AuthFailed,
    "rate": RateLimited,
    "transient": TransientError,
    "failure": ExchangeFailure,
}


@pytest.mark.parametrize(("venue", "status", "body", "expected"), CASES)
def test_translate_ccxt_exceptions(venue: str, status: int, body: str, expected: str) -> None:
    failure = translate(ccxt_raises(venue, status, body))
    kind, _, reason = expected.partition(":")
    assert type(failure) is KINDS[kind]
    if reason:
        assert isinstance(failure, OrderRejectedError) and failure.reason == reason
    if kind == "insufficient":
        assert isinstance(failure, InsufficientBalance)
        assert failure.reason == "insufficient_balance"


def test_binance_bad_keys_seen_as_ddos_protection_are_auth_failures() -> None:
    # After one successful private call ccxt maps -2015 to DDoSProtection (contract §7);
    # the venue code decides, so the account is marked auth_failed instead of "rate limited".
    exc = ccxt.DDoSProtection(
        "binance " + _binance(-2015, "Invalid API-key, IP, or permissions for action.")
    )
    assert type(translate(exc)) is AuthFailed


def test_retry_after_header_is_read() -> None:
    exc = ccxt_raises("binance", 429, _binance(-1003, "Too many requests."))
    failure = translate(exc, headers={"Retry-After": "7"})
    assert isinstance(failure, RateLimited) and failure.retry_after_seconds == 7.0


def test_bybit_reset_timestamp_gives_retry_after() -> None:
    exc = ccxt_raises("bybit", 200, _bybit(10006, "Too many visits!"))
    headers = {"X-Bapi-Limit-Reset-Timestamp": "1770000002500"}
    failure = translate(exc, headers=headers, now_ms=1_770_000_000_000)
    # reset 1_770_000_002_500 - now 1_770_000_000_000 = 2_500 ms
    assert isinstance(failure, RateLimited) and failure.retry_after_seconds == 2.5


@pytest.mark.parametrize(
    ("headers", "now", "expected"),
    [
        (None, None, None),
        ({}, None, None),
        ({"retry-after": "3"}, None, 3.0),
        ({"Retry-After": "soon"}, None, None),
        ({"Retry-After": "-4"}, None, 0.0),
        ({"X-Bapi-Limit-Reset-Timestamp": "1000"}, 4000, 0.0),  # already past
        ({"X-Bapi-Limit-Reset-Timestamp": "5000"}, None, None),  # needs the clock
    ],
)
def test_retry_after_seconds(
    headers: dict[str, str] | None, now: int | None, expected: float | None
) -> None:
    assert retry_after_seconds(headers, now) == expected


def test_transport_failures_are_transient() -> None:
    assert type(translate(ConnectionRefusedError("refused"))) is TransientError
    assert type(translate(TimeoutError())) is TransientError
    assert type(translate(ccxt.RequestTimeout("binance GET /api/v3/order timed out"))) is (
        TransientError
    )
    wrapped = ccxt.ExchangeError("binance POST http://x payload error")
    wrapped.__cause__ = ConnectionResetError("reset by peer")
    assert type(translate(wrapped)) is TransientError


def test_programming_errors_are_not_translated() -> None:
    with pytest.raises(TypeError, match="not an exchange error"):
        translate(KeyError("markets"))


def test_filter_reasons_trigger_a_rules_refresh() -> None:
    assert {"filter_failure", "below_min_notional", "below_min_qty"} == FILTER_REASONS


def test_parse_body() -> None:
    assert parse_body('binance {"code":-1013,"msg":"x"}') == {"code": -1013, "msg": "x"}
    assert parse_body("binance Account has insufficient balance") is None
    assert parse_body("bybit {not json") is None
