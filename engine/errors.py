"""The project's small exchange-error hierarchy; adapters translate into it exactly once."""

from __future__ import annotations

__all__ = [
    "ExchangeFailure",
    "TransientError",
    "RateLimited",
    "AuthFailed",
    "OrderRejectedError",
    "NotFound",
    "InsufficientBalance",
]


class ExchangeFailure(Exception):
    """Base class: something went wrong talking to an exchange."""

    retryable = False


class TransientError(ExchangeFailure):
    """Connection refused, timeout, 5xx: retry with backoff; the outcome may be unknown."""

    retryable = True


class RateLimited(TransientError):
    """429/418 or a rate-limit code; wait ``retry_after_seconds`` before the next call."""

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class AuthFailed(ExchangeFailure):
    """Bad keys or permissions: mark the account ``auth_failed``; never retry in a loop."""


class OrderRejectedError(ExchangeFailure):
    """The exchange refused the order (filter, balance, duplicate id...)."""

    def __init__(self, message: str, reason: str = "order_rejected", code: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code


class InsufficientBalance(OrderRejectedError):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message, reason="insufficient_balance", code=code)


class NotFound(ExchangeFailure):
    """The order (or symbol) does not exist on the exchange."""
