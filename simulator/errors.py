"""Errors the simulator raises, carrying each exchange's own code, message and HTTP status.

Every error has a neutral ``reason`` (``"insufficient_balance"``, ``"lot_size"``...) so callers
can branch without knowing exchange codes, plus the venue's ``code``/``message``/``http_status``
so the REST faces can answer exactly as the exchange would. Fault injections raise the
subclasses (:class:`SimDown`, :class:`SimRateLimited`, :class:`SimAuthError`,
:class:`SimTimeout`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "SimError",
    "SimDown",
    "SimRateLimited",
    "SimAuthError",
    "SimTimeout",
    "ErrorSpec",
    "ErrorCatalog",
    "REASONS",
]

# Neutral reason keys every venue's error catalog must define (scenarios/markets/*.json).
REASONS = (
    "invalid_symbol",
    "market_closed",
    "missing_parameter",
    "invalid_parameter",
    "unexpected_parameter",
    "price_filter",
    "lot_size",
    "min_qty",
    "max_qty",
    "min_notional",
    "insufficient_balance",
    "post_only_would_take",
    "duplicate_client_order_id",
    "unknown_order",
    "order_not_found",
    "bad_api_key",
    "rate_limited",
    "exchange_down",
    "response_lost",
    "reduce_only_rejected",
    "order_rejected",
)


class SimError(Exception):
    """An exchange-level refusal: ``code``/``message``/``http_status`` as the venue sends them."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int = 400,
        *,
        reason: str = "",
        exchange: str = "",
    ) -> None:
        super().__init__(f"{exchange or 'sim'} {code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.reason = reason
        self.exchange = exchange


class SimDown(SimError):
    """The exchange is down. ``mode`` is ``"503"`` (answer 503) or ``"refused"`` (the REST
    face should refuse/drop the connection)."""

    def __init__(
        self, code: str, message: str, http_status: int = 503, *, mode: str = "503", **kw: Any
    ) -> None:
        super().__init__(code, message, http_status, **kw)
        self.mode = mode


class SimRateLimited(SimError):
    """Too many requests; retry after ``retry_after_s`` seconds."""

    def __init__(
        self, code: str, message: str, http_status: int = 429, *, retry_after_s: int = 1, **kw: Any
    ) -> None:
        super().__init__(code, message, http_status, **kw)
        self.retry_after_s = retry_after_s


class SimAuthError(SimError):
    """Unknown or refused API key."""


class SimTimeout(SimError):
    """The request was carried out but its response is lost: the caller must see a timeout.

    ``result`` holds what the operation returned (e.g. the created order) for logging."""

    def __init__(
        self, code: str, message: str, http_status: int = 504, *, result: Any = None, **kw: Any
    ) -> None:
        super().__init__(code, message, http_status, **kw)
        self.result = result


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One venue error: its code, message template (``{field}`` may appear) and HTTP status."""

    code: str
    message: str
    http_status: int = 400
    verified: bool = True


_CLASSES: dict[str, type[SimError]] = {
    "exchange_down": SimDown,
    "rate_limited": SimRateLimited,
    "bad_api_key": SimAuthError,
    "response_lost": SimTimeout,
}


class ErrorCatalog:
    """The error table of one venue, read from its markets file (venue quirks are data)."""

    def __init__(self, exchange: str, specs: dict[str, ErrorSpec]) -> None:
        missing = [reason for reason in REASONS if reason not in specs]
        if missing:
            raise ValueError(f"{exchange}: errors: missing reasons {missing}")
        self.exchange = exchange
        self.specs = dict(specs)

    @classmethod
    def from_json(cls, exchange: str, data: object) -> ErrorCatalog:
        if not isinstance(data, dict):
            raise ValueError(f"{exchange}: errors: expected an object")
        specs: dict[str, ErrorSpec] = {}
        for reason, raw in data.items():
            if not isinstance(raw, dict) or "code" not in raw or "message" not in raw:
                raise ValueError(f"{exchange}: errors.{reason}: needs 'code' and 'message'")
            specs[str(reason)] = ErrorSpec(
                code=str(raw["code"]),
                message=str(raw["message"]),
                http_status=int(raw.get("http_status", 400)),
                verified=bool(raw.get("verified", True)),
            )
        return cls(exchange, specs)

    def error(self, reason: str, *, field: str = "", **extra: Any) -> SimError:
        """Build the exception for ``reason`` (``field`` fills a ``{field}`` placeholder)."""
        spec = self.specs[reason]
        message = spec.message.replace("{field}", field)
        error_class = _CLASSES.get(reason, SimError)
        return error_class(
            spec.code,
            message,
            spec.http_status,
            reason=reason,
            exchange=self.exchange,
            **extra,
        )
