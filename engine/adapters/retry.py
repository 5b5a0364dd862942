"""The one retry policy for exchange calls: exponential backoff with jitter, a cap on attempts,
and the server's ``Retry-After`` honoured. Randomness comes from the ``random.Random`` the
caller hands in (seeded in tests and simulated runs), time from an injected ``sleep``."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy", "Sleep"]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` counts every try, the first included.

    The wait before retry ``n`` (1-based) is ``min(max_delay, base_delay * multiplier**(n-1))``
    scaled by a random factor in ``[1 - jitter, 1]`` ("equal jitter": never zero, never more
    than the cap). A server ``Retry-After`` replaces the backoff when it is longer; one longer
    than ``max_retry_after`` is not waited for inside the call (the caller gets the error and
    the rate limiter stays paused until then)."""

    max_attempts: int = 4
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        problems = [
            ("max_attempts", self.max_attempts >= 1),
            ("base_delay", self.base_delay >= 0),
            ("multiplier", self.multiplier >= 1),
            ("max_delay", self.max_delay >= self.base_delay),
            ("jitter", 0 <= self.jitter <= 1),
            ("max_retry_after", self.max_retry_after >= 0),
        ]
        for name, ok in problems:
            if not ok:
                raise ValueError(f"RetryPolicy.{name}: out of range ({getattr(self, name)!r})")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        if retry < 1:
            raise ValueError("retry: counts from 1")
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1))
        return ceiling * (1 - self.jitter * rng.random())

    def delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Backoff, or the server's ``Retry-After`` when that is longer."""
        wait = self.backoff(retry, rng)
        return wait if retry_after is None else max(wait, retry_after)

    def should_retry(self, attempt: int, retry_after: float | None = None) -> bool:
        """After failed attempt number ``attempt`` (1-based): is another one allowed?"""
        if attempt >= self.max_attempts:
            return False
        return retry_after is None or retry_after <= self.max_retry_after
