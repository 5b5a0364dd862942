"""Predictions for the flow: from an AI engine over HTTP, from the service's own
``/signals/predict``, or from the built-in deterministic predictor (the flow's fallback).

- :class:`HttpPredictor` posts ``{"symbol", "exchange"}`` to ``{url}/signals/predict`` with
  httpx and validates the answer strictly (``action`` buy/sell, ``confidence`` in [0, 1],
  ``predicted_return`` a finite number); anything else — connection refused, a timeout, a
  5xx, a body that is not the contract — raises :class:`PredictionError` naming the field.
- :class:`ServicePredictor` asks the service through a :class:`~qtrade.e2e.api.ServiceApi`.
- :class:`PathPredictor` is the fallback: the momentum baseline of
  ``engine/service/predict.py`` (the same formula the service uses) over the prices the flow
  sampled from the price path. It needs no network and always answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from engine.domain import to_decimal
from engine.service.predict import MomentumPredictor
from qtrade.e2e.api import ServiceApi

__all__ = [
    "ACTIONS",
    "Prediction",
    "PredictionError",
    "PredictionSource",
    "parse_prediction",
    "HttpPredictor",
    "ServicePredictor",
    "PathPredictor",
]

ACTIONS = ("buy", "sell")
_BODY_CHARS = 200


@dataclass(frozen=True, slots=True)
class Prediction:
    """One prediction; ``source`` is ``ai_engine``, ``service`` or ``synthetic``."""

    symbol: str
    exchange: str
    action: str
    confidence: Decimal
    predicted_return: Decimal
    price: Decimal | None
    source: str
    model: str | None = None


class PredictionError(Exception):
    """No usable prediction: ``field`` names what was wrong (``transport``, ``status``,
    ``body``, ``action``, ``confidence``...), ``code`` the reason."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(f"{field}: {message} ({code})")
        self.field = field
        self.code = code


class PredictionSource(Protocol):
    name: str

    def predict(self, symbol: str, exchange: str) -> Prediction: ...


def _number(body: dict[str, Any], key: str, *, required: bool) -> Decimal | None:
    value = body.get(key)
    if value is None:
        if required:
            raise PredictionError(key, "missing", "the answer has no value")
        return None
    if isinstance(value, float):  # only reachable if a caller decoded with floats
        value = repr(value)
    try:
        return to_decimal(value, field=key)
    except ValueError as exc:
        raise PredictionError(key, "not_a_number", str(exc)) from None


def parse_prediction(body: Any, symbol: str, exchange: str, source: str) -> Prediction:
    """Validate an AI engine's answer (already decoded, numbers as Decimal or strings)."""
    if not isinstance(body, dict):
        raise PredictionError("body", "not_an_object", f"expected an object, got {body!r:.80}")
    answered = body.get("symbol")
    if answered is not None and str(answered).upper() != symbol:
        raise PredictionError("symbol", "wrong_symbol", f"asked {symbol}, answered {answered}")
    action = body.get("action")
    if not isinstance(action, str) or action.lower() not in ACTIONS:
        raise PredictionError("action", "unknown_value", f"expected buy or sell, got {action!r}")
    confidence = _number(body, "confidence", required=True)
    assert confidence is not None
    if not 0 <= confidence <= 1:
        raise PredictionError("confidence", "out_of_range", f"must be in [0, 1], got {confidence}")
    predicted_return = _number(body, "predicted_return", required=True)
    assert predicted_return is not None
    price = _number(body, "price", required=False)
    if price is not None and price <= 0:
        raise PredictionError("price", "not_positive", f"must be > 0, got {price}")
    model = body.get("model")
    return Prediction(
        symbol=symbol,
        exchange=exchange,
        action=action.lower(),
        confidence=confidence,
        predicted_return=predicted_return,
        price=price,
        source=source,
        model=model if isinstance(model, str) else None,
    )


def _decode_answer(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise PredictionError(
            "status", "http_error", f"HTTP {response.status_code}: {response.text[:_BODY_CHARS]!r}"
        )
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise PredictionError(
            "body", "not_json", f"not JSON: {response.text[:_BODY_CHARS]!r}"
        ) from None


class HttpPredictor:
    """An AI engine at ``url`` (``POST {url}/signals/predict``), ``timeout_seconds`` per call."""

    name = "ai_engine"

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        token: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout_seconds, headers=headers)
        self._owns_client = client is None

    def predict(self, symbol: str, exchange: str) -> Prediction:
        try:
            response = self._client.post(
                f"{self.url}/signals/predict", json={"symbol": symbol, "exchange": exchange}
            )
        except httpx.TimeoutException as exc:
            raise PredictionError("transport", "timeout", f"{type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise PredictionError(
                "transport", "unreachable", f"{type(exc).__name__}: {exc}"
            ) from exc
        return parse_prediction(_decode_answer(response), symbol, exchange, self.name)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


class ServicePredictor:
    """The service's own ``/signals/predict`` (the seed's backend route)."""

    name = "service"

    def __init__(self, api: ServiceApi) -> None:
        self.api = api

    def predict(self, symbol: str, exchange: str) -> Prediction:
        try:
            response = self.api.request(
                "POST", "/signals/predict", json={"symbol": symbol, "exchange": exchange}
            )
        except httpx.HTTPError as exc:
            raise PredictionError(
                "transport", "unreachable", f"{type(exc).__name__}: {exc}"
            ) from exc
        return parse_prediction(_decode_answer(response), symbol, exchange, self.name)


class PathPredictor:
    """The fallback: momentum of the prices observed on the price path (same formula as the
    service's baseline, ``engine.service.predict``), per (exchange, symbol)."""

    name = "synthetic"

    def __init__(self, window: int = 20) -> None:
        self._momentum = MomentumPredictor(window)

    def observe(self, exchange: str, symbol: str, price: Decimal) -> None:
        self._momentum.observe(exchange, symbol, price)

    def predict(self, symbol: str, exchange: str) -> Prediction:
        found = self._momentum.predict(exchange, symbol)
        return Prediction(
            symbol=symbol,
            exchange=exchange,
            action=found.action,
            confidence=found.confidence,
            predicted_return=found.predicted_return,
            price=found.price,
            source=self.name,
            model="momentum_baseline",
        )
