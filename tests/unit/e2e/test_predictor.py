"""Predictions: the AI engine over HTTP (respx: ok, down, 500, garbage, slow), the service's
route, and the built-in predictor over a price path (hand-computed momentum)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import respx

from qtrade.e2e.predictor import (
    HttpPredictor,
    PathPredictor,
    PredictionError,
    ServicePredictor,
    parse_prediction,
)
from tests.kit.e2e import ScriptedApi, answer

D = Decimal
URL = "http://ai.test:8001"
ROUTE = f"{URL}/signals/predict"


@respx.mock
def test_ai_engine_answer_is_read_exactly() -> None:
    route = respx.post(ROUTE).respond(
        200,
        content=b'{"symbol": "BTCUSDT", "action": "BUY", "confidence": 0.875, '
        b'"predicted_return": 0.0196, "price": 42500.50, "model": "ensemble"}',
    )
    found = HttpPredictor(URL, token="t").predict("BTCUSDT", "binance")
    assert route.called
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer t"
    assert request.content == b'{"symbol":"BTCUSDT","exchange":"binance"}'
    # numbers arrive as JSON numbers and are read as exact Decimals, not floats
    assert (found.action, found.confidence, found.predicted_return, found.price) == (
        "buy",
        D("0.875"),
        D("0.0196"),
        D("42500.50"),
    )
    assert (found.source, found.model) == ("ai_engine", "ensemble")


@pytest.mark.parametrize(
    ("reply", "field", "code"),
    [
        (httpx.ConnectError("connection refused"), "transport", "unreachable"),
        (httpx.ReadTimeout("slow"), "transport", "timeout"),
        (httpx.Response(500, text="model crashed"), "status", "http_error"),
        (httpx.Response(200, text="<html>gateway</html>"), "body", "not_json"),
        (httpx.Response(200, json=[1, 2]), "body", "not_an_object"),
        (httpx.Response(200, json={"action": "hold"}), "action", "unknown_value"),
        (httpx.Response(200, json={"action": "buy"}), "confidence", "missing"),
        (
            httpx.Response(200, json={"action": "buy", "confidence": "x", "predicted_return": 0}),
            "confidence",
            "not_a_number",
        ),
        (
            httpx.Response(200, json={"action": "sell", "confidence": 2, "predicted_return": 0}),
            "confidence",
            "out_of_range",
        ),
        (
            httpx.Response(
                200,
                json={"symbol": "ETHUSDT", "action": "buy", "confidence": 1, "predicted_return": 0},
            ),
            "symbol",
            "wrong_symbol",
        ),
        (
            httpx.Response(
                200, json={"action": "buy", "confidence": 1, "predicted_return": 0, "price": -1}
            ),
            "price",
            "not_positive",
        ),
    ],
)
@respx.mock
def test_ai_engine_failures_are_prediction_errors(reply: object, field: str, code: str) -> None:
    route = respx.post(ROUTE)
    if isinstance(reply, Exception):
        route.side_effect = reply
    else:
        assert isinstance(reply, httpx.Response)
        route.return_value = reply
    with pytest.raises(PredictionError) as caught:
        HttpPredictor(URL).predict("BTCUSDT", "binance")
    assert (caught.value.field, caught.value.code) == (field, code)


def test_a_really_slow_ai_engine_times_out() -> None:
    # a server that accepts the connection and never answers: the client's timeout fires
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(PredictionError) as caught:
            HttpPredictor(url, timeout_seconds=0.2).predict("BTCUSDT", "binance")
        assert (caught.value.field, caught.value.code) == ("transport", "timeout")
    finally:
        server.close()


def test_service_predictor_uses_the_service_route() -> None:
    api = ScriptedApi(
        {
            "POST /signals/predict": answer(
                {
                    "symbol": "SOLUSDT",
                    "exchange": "binance",
                    "action": "buy",
                    "confidence": "0.5753",
                    "predicted_return": "0.00150602",
                    "price": "126.35",
                    "observations": 6,
                    "model": "momentum_baseline",
                }
            )
        }
    )
    found = ServicePredictor(api).predict("SOLUSDT", "binance")
    assert api.calls == [
        ("POST", "/signals/predict", None, {"symbol": "SOLUSDT", "exchange": "binance"})
    ]
    assert (found.confidence, found.predicted_return, found.source) == (
        D("0.5753"),
        D("0.00150602"),
        "service",
    )


def test_service_predictor_turns_an_error_status_into_a_prediction_error() -> None:
    api = ScriptedApi({"POST /signals/predict": answer({"detail": []}, status=422)})
    with pytest.raises(PredictionError) as caught:
        ServicePredictor(api).predict("SOLUSDT", "binance")
    assert caught.value.code == "http_error"


def test_path_predictor_is_the_momentum_of_the_sampled_path() -> None:
    predictor = PathPredictor()
    # the warm-up path's six BTCUSDT samples (95992.30 -> 96472.26 in five one-minute steps,
    # 95.992 per step, rounded to the tick)
    for price in ("95992.30", "96088.29", "96184.28", "96280.28", "96376.27", "96472.26"):
        predictor.observe("binance", "BTCUSDT", D(price))
    found = predictor.predict("BTCUSDT", "binance")
    # mean = 577393.68 / 6 = 96232.28 ; (96472.26 - 96232.28) / 96232.28 = 0.0024937595...
    #   -> 0.00249376 ; confidence 0.5 + 50 x 0.00249376 = 0.624688 -> 0.6247
    assert (found.action, found.predicted_return, found.confidence) == (
        "buy",
        D("0.00249376"),
        D("0.6247"),
    )
    assert (found.price, found.source) == (D("96472.26"), "synthetic")


def test_path_predictor_without_prices_has_no_information() -> None:
    found = PathPredictor().predict("ETHUSDT", "binance")
    assert (found.action, found.confidence, found.predicted_return, found.price) == (
        "buy",
        D("0.5"),
        D(0),
        None,
    )


def test_parse_prediction_accepts_strings() -> None:
    found = parse_prediction(
        {"action": "sell", "confidence": "0.6002", "predicted_return": "-0.00200460"},
        "ETHUSDT",
        "binance",
        "ai_engine",
    )
    assert (found.action, found.confidence, found.price) == ("sell", D("0.6002"), None)
