"""Signature checks of the REST faces against published and independently computed values."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from simulator.rest.signing import (
    AuthFailure,
    binance_signature_payload,
    verify_binance,
    verify_bybit,
)

# Binance's own documentation example (SIGNED endpoint examples for POST /api/v3/order).
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
# Mixed query + body example: the signature covers query and body concatenated with no "&".
DOC_MIXED_QUERY = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
DOC_MIXED_BODY = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
DOC_MIXED_SIGNATURE = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
DOC_NOW = 1499827319559 + 100  # 100 ms after the documented timestamp


def _secrets(key: str) -> str | None:
    return {DOC_KEY: DOC_SECRET}.get(key)


def _params(*raws: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in raws:
        for pair in raw.split("&"):
            if pair:
                name, _, value = pair.partition("=")
                out[name] = value
    return out


def _binance(query: str, body: str = "", *, key: str | None = DOC_KEY, now: int = DOC_NOW) -> str:
    return verify_binance(
        api_key=key,
        raw_query=query,
        raw_body=body,
        params=_params(query, body),
        secret_of=_secrets,
        now_ms=now,
    )


def _code(exc: pytest.ExceptionInfo[AuthFailure]) -> tuple[int, int]:
    return exc.value.code, exc.value.http_status


def test_binance_documented_query_signature_is_accepted() -> None:
    assert _binance(f"{DOC_QUERY}&signature={DOC_SIGNATURE}") == DOC_KEY


def test_binance_documented_body_signature_is_accepted() -> None:
    assert _binance("", f"{DOC_QUERY}&signature={DOC_SIGNATURE}") == DOC_KEY


def test_binance_documented_mixed_query_and_body_signature_is_accepted() -> None:
    body = f"{DOC_MIXED_BODY}&signature={DOC_MIXED_SIGNATURE}"
    assert _binance(DOC_MIXED_QUERY, body) == DOC_KEY


def test_binance_payload_strips_signature_wherever_it_sits() -> None:
    payload, signature = binance_signature_payload(f"signature=ab&{DOC_MIXED_QUERY}", "")
    assert (payload, signature) == (DOC_MIXED_QUERY, "ab")


def test_binance_bad_signature_is_minus_1022() -> None:
    with pytest.raises(AuthFailure) as exc:
        _binance(f"{DOC_QUERY}&signature={'0' * 64}")
    assert _code(exc) == (-1022, 400)


def test_binance_tampered_parameter_fails_the_signature() -> None:
    tampered = DOC_QUERY.replace("quantity=1", "quantity=2")
    with pytest.raises(AuthFailure) as exc:
        _binance(f"{tampered}&signature={DOC_SIGNATURE}")
    assert _code(exc) == (-1022, 400)


def test_binance_unknown_key_is_minus_2015_with_401() -> None:
    with pytest.raises(AuthFailure) as exc:
        _binance(f"{DOC_QUERY}&signature={DOC_SIGNATURE}", key="nobody")
    assert _code(exc) == (-2015, 401)


def test_binance_missing_key_is_minus_2014() -> None:
    with pytest.raises(AuthFailure) as exc:
        _binance(f"{DOC_QUERY}&signature={DOC_SIGNATURE}", key=None)
    assert _code(exc) == (-2014, 401)


def test_binance_missing_signature_is_minus_1102() -> None:
    with pytest.raises(AuthFailure) as exc:
        _binance(DOC_QUERY)
    assert _code(exc) == (-1102, 400)


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        # recvWindow=5000: accepted while now - ts <= 5000 and ts <= now + 1000
        (1499827319559 + 5000, True),
        (1499827319559 + 5001, False),
        (1499827319559 - 1000, True),
        (1499827319559 - 1001, False),
    ],
)
def test_binance_timestamp_window(now: int, accepted: bool) -> None:
    query = f"{DOC_QUERY}&signature={DOC_SIGNATURE}"
    if accepted:
        assert _binance(query, now=now) == DOC_KEY
    else:
        with pytest.raises(AuthFailure) as exc:
            _binance(query, now=now)
        assert _code(exc) == (-1021, 400)


def test_binance_recv_window_above_60000_is_refused() -> None:
    query = "timestamp=1&recvWindow=60001"
    sig = hmac.new(DOC_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    with pytest.raises(AuthFailure) as exc:
        _binance(f"{query}&signature={sig}")
    assert _code(exc) == (-1131, 400)


def test_binance_accepts_a_client_that_signed_the_unencoded_string() -> None:
    # python-binance signs "newClientOrderId=a b" but the form transport sends "a+b".
    signed = "newClientOrderId=a b&timestamp=1499827319559"
    sent = "newClientOrderId=a+b&timestamp=1499827319559"
    sig = hmac.new(DOC_SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()
    assert _binance("", f"{sent}&signature={sig}") == DOC_KEY


BYBIT_KEY = "XXXXXXXXXX"
BYBIT_SECRET = "YYYYYYYYYY"
TS = 1658384314791


def _bybit_headers(tail: str, *, ts: int = TS, recv: str = "5000", secret: str = BYBIT_SECRET):
    payload = f"{ts}{BYBIT_KEY}{recv}{tail}"
    sign = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {
        "x-bapi-api-key": BYBIT_KEY,
        "x-bapi-timestamp": str(ts),
        "x-bapi-recv-window": recv,
        "x-bapi-sign": sign,
    }


def _bybit(headers: dict[str, str], method: str, query: str, body: str, now: int = TS) -> str:
    return verify_bybit(
        headers=headers,
        method=method,
        raw_query=query,
        raw_body=body,
        secret_of={BYBIT_KEY: BYBIT_SECRET}.get,
        now_ms=now,
    )


def test_bybit_get_signature_over_raw_query() -> None:
    query = "category=spot&symbol=BTCUSDT"
    assert _bybit(_bybit_headers(query), "GET", query, "") == BYBIT_KEY


def test_bybit_post_signature_over_raw_body_either_json_spacing() -> None:
    for body in ('{"category":"spot","symbol":"BTCUSDT"}', '{"category": "spot"}'):
        assert _bybit(_bybit_headers(body), "POST", "", body) == BYBIT_KEY


def test_bybit_bad_signature_is_10004() -> None:
    body = '{"category":"spot"}'
    headers = _bybit_headers(body, secret="wrong")
    with pytest.raises(AuthFailure) as exc:
        _bybit(headers, "POST", "", body)
    assert exc.value.code == 10004


def test_bybit_unknown_key_is_10003() -> None:
    headers = _bybit_headers("")
    headers["x-bapi-api-key"] = "nobody"
    with pytest.raises(AuthFailure) as exc:
        _bybit(headers, "GET", "", "")
    assert exc.value.code == 10003


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        # Bybit's rule: now - recv_window <= ts < now + 1000, recv_window = 5000
        (TS + 5000, True),
        (TS + 5001, False),
        (TS - 999, True),
        (TS - 1000, False),
    ],
)
def test_bybit_timestamp_window(now: int, accepted: bool) -> None:
    headers = _bybit_headers("")
    if accepted:
        assert _bybit(headers, "GET", "", "", now=now) == BYBIT_KEY
    else:
        with pytest.raises(AuthFailure) as exc:
            _bybit(headers, "GET", "", "", now=now)
        assert exc.value.code == 10002


def test_bybit_accepts_a_client_that_signed_the_unencoded_query() -> None:
    signed = "orderLinkId=a/b:c"
    sent = "orderLinkId=a%2Fb%3Ac"
    assert _bybit(_bybit_headers(signed), "GET", sent, "") == BYBIT_KEY
