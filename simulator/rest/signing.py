"""Signature and timestamp-window checks for the two REST faces.

Both exchanges sign with HMAC-SHA256 (hex) over the raw bytes the client sent, so the checks
here work on the raw query string and raw body, never on re-serialised parameters
(``../shared/reference/ccxt_contract.md`` §3). Some clients sign the unencoded string while
their transport percent-encodes it, so a candidate payload is also tried percent-decoded.

The timestamp window is checked against the caller's wall clock (real clients sign with
wall-clock milliseconds), which the server injects as ``now_ms``; the simulator's own clock is
not involved here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote, unquote_plus

__all__ = [
    "AuthFailure",
    "BINANCE_FUTURE_TOLERANCE_MS",
    "BINANCE_MAX_RECV_WINDOW_MS",
    "BYBIT_DEFAULT_RECV_WINDOW_MS",
    "BYBIT_FUTURE_TOLERANCE_MS",
    "SecretLookup",
    "binance_signature_payload",
    "hmac_sha256_hex",
    "verify_binance",
    "verify_bybit",
]

BINANCE_DEFAULT_RECV_WINDOW_MS = 5000
BINANCE_MAX_RECV_WINDOW_MS = 60000
BINANCE_FUTURE_TOLERANCE_MS = 1000
BYBIT_DEFAULT_RECV_WINDOW_MS = 5000
BYBIT_FUTURE_TOLERANCE_MS = 1000

# Returns the secret of a known API key, or None when the key is unknown.
SecretLookup = Callable[[str], "str | None"]

_SIGNATURE_PARAM = re.compile(r"(^|&)signature=([^&]*)")


class AuthFailure(Exception):
    """A signed request was refused; ``code`` is the exchange's own error code."""

    def __init__(self, code: int, message: str, http_status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


def hmac_sha256_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _decoded_variants(payload: str) -> Iterator[str]:
    """The raw payload, then its percent-decoded forms (each at most once)."""
    seen: set[str] = set()
    for candidate in (payload, unquote(payload), unquote_plus(payload)):
        if candidate not in seen:
            seen.add(candidate)
            yield candidate


def _signature_matches(secret: str, payload: str, signature: str) -> bool:
    return any(
        hmac.compare_digest(hmac_sha256_hex(secret, candidate), signature.lower())
        for candidate in _decoded_variants(payload)
    )


def _strip_signature(raw: str) -> tuple[str, str | None]:
    """Remove ``signature=...`` from a raw query or form body; return (rest, signature)."""
    match = _SIGNATURE_PARAM.search(raw)
    if match is None:
        return raw, None
    rest = raw[: match.start()] + raw[match.end() :]
    if match.group(1) == "" and rest.startswith("&"):
        rest = rest[1:]
    return rest, match.group(2)


def binance_signature_payload(raw_query: str, raw_body: str) -> tuple[str, str | None]:
    """Binance's ``totalParams``: raw query then raw body, each without ``signature``.

    Binance concatenates the two without a separator; the signature may sit in either part.
    """
    query, query_signature = _strip_signature(raw_query)
    body, body_signature = _strip_signature(raw_body)
    return query + body, query_signature if query_signature is not None else body_signature


def _mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def _parse_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def verify_binance(
    *,
    api_key: str | None,
    raw_query: str,
    raw_body: str,
    params: dict[str, str],
    secret_of: SecretLookup,
    now_ms: int,
) -> str:
    """Check a signed Binance request; return the API key or raise :class:`AuthFailure`.

    Order of checks: key present (-2014), key known (-2015, HTTP 401), timestamp and
    recvWindow well-formed (-1102/-1131), signature present and valid (-1102/-1022),
    timestamp inside the window (-1021).
    """
    if not api_key:
        raise AuthFailure(-2014, "API-key format invalid.", 401)
    secret = secret_of(api_key)
    if secret is None:
        raise AuthFailure(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    timestamp = _parse_int(params.get("timestamp"))
    if timestamp is None:
        raise AuthFailure(-1102, _mandatory("timestamp"), 400)
    recv_window = BINANCE_DEFAULT_RECV_WINDOW_MS
    if "recvWindow" in params:
        parsed_window = _parse_int(params["recvWindow"])
        if parsed_window is None or parsed_window <= 0:
            raise AuthFailure(-1100, "Illegal characters found in parameter 'recvWindow'.", 400)
        if parsed_window > BINANCE_MAX_RECV_WINDOW_MS:
            raise AuthFailure(-1131, "recvWindow must be less than 60000", 400)
        recv_window = parsed_window
    payload, signature = binance_signature_payload(raw_query, raw_body)
    if not signature:
        raise AuthFailure(-1102, _mandatory("signature"), 400)
    if not _signature_matches(secret, payload, signature):
        raise AuthFailure(-1022, "Signature for this request is not valid.", 400)
    if timestamp > now_ms + BINANCE_FUTURE_TOLERANCE_MS or now_ms - timestamp > recv_window:
        raise AuthFailure(-1021, "Timestamp for this request is outside of the recvWindow.", 400)
    return api_key


def verify_bybit(
    *,
    headers: dict[str, str],
    method: str,
    raw_query: str,
    raw_body: str,
    secret_of: SecretLookup,
    now_ms: int,
) -> str:
    """Check a signed Bybit v5 request; return the API key or raise :class:`AuthFailure`.

    ``headers`` must have lower-case names. The payload is ``timestamp + apiKey + recvWindow``
    followed by the raw query (GET) or raw body (POST). Window (Bybit's documented rule):
    ``server_time - recv_window <= timestamp < server_time + 1000``, otherwise 10002.
    """
    api_key = headers.get("x-bapi-api-key", "")
    secret = secret_of(api_key) if api_key else None
    if secret is None:
        raise AuthFailure(10003, "API key is invalid.", 401)
    timestamp_text = headers.get("x-bapi-timestamp")
    timestamp = _parse_int(timestamp_text)
    if timestamp is None:
        raise AuthFailure(10001, "Missing or malformed header X-BAPI-TIMESTAMP.", 200)
    recv_text = headers.get("x-bapi-recv-window", str(BYBIT_DEFAULT_RECV_WINDOW_MS))
    recv_window = _parse_int(recv_text)
    if recv_window is None or recv_window <= 0:
        raise AuthFailure(10001, "Malformed header X-BAPI-RECV-WINDOW.", 200)
    signature = headers.get("x-bapi-sign", "")
    if not signature:
        raise AuthFailure(10004, "Missing header X-BAPI-SIGN.", 200)
    tail = raw_query if method.upper() in ("GET", "DELETE") else raw_body
    payload = f"{timestamp_text}{api_key}{recv_text}{tail}"
    if not _signature_matches(secret, payload, signature):
        raise AuthFailure(10004, f"error sign! origin_string[{payload}]", 200)
    if not (now_ms - recv_window <= timestamp < now_ms + BYBIT_FUTURE_TOLERANCE_MS):
        raise AuthFailure(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{timestamp}],server_timestamp[{now_ms}],recv_window[{recv_window}]",
            200,
        )
    return api_key
