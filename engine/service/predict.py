"""A transparent momentum baseline for the e2e flow's ``/signals/predict`` route.

The seed's flow asks an "AI engine" for a direction and a confidence; this project has no
trained model, and says so: the prediction is the momentum of the prices the service has
observed for the symbol (its last price against the mean of the last ``window``
observations). ``predicted_return = (last - mean) / mean``; ``buy`` when it is >= 0, else
``sell``; ``confidence = min(0.95, 0.5 + 50 × |predicted_return|)`` (0.5 = no information,
a 1 % deviation gives 0.95). Every number is a Decimal, computed exactly then quantised.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["MODEL_NAME", "Prediction", "MomentumPredictor"]

MODEL_NAME = "momentum_baseline"
_RETURN_QUANTUM = Decimal("0.00000001")
_CONFIDENCE_QUANTUM = Decimal("0.0001")
_CAP = Decimal("0.95")
_HALF = Decimal("0.5")
_SLOPE = Decimal(50)


@dataclass(frozen=True, slots=True)
class Prediction:
    action: str
    confidence: Decimal
    predicted_return: Decimal
    price: Decimal | None
    observations: int


class MomentumPredictor:
    """Keeps the last ``window`` prices per (exchange, symbol)."""

    def __init__(self, window: int = 20) -> None:
        if window < 1:
            raise ValueError("window: must be >= 1 (not_positive)")
        self.window = window
        self._prices: dict[tuple[str, str], deque[Decimal]] = {}

    def observe(self, exchange: str, symbol: str, price: Decimal) -> None:
        if price <= 0:
            raise ValueError(f"price: must be > 0, got {price} (not_positive)")
        history = self._prices.setdefault((exchange, symbol), deque(maxlen=self.window))
        if not history or history[-1] != price:
            history.append(price)

    def predict(self, exchange: str, symbol: str) -> Prediction:
        history = self._prices.get((exchange, symbol))
        if not history:
            return Prediction("buy", _HALF, Decimal(0), None, 0)
        last = history[-1]
        mean = sum(history, Decimal(0)) / len(history)
        change = ((last - mean) / mean).quantize(_RETURN_QUANTUM)
        confidence = min(_CAP, _HALF + _SLOPE * abs(change)).quantize(_CONFIDENCE_QUANTUM)
        return Prediction("buy" if change >= 0 else "sell", confidence, change, last, len(history))
