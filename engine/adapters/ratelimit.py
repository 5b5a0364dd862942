"""Client-side rate limiting: token buckets under the exchange's published limits.

One :class:`RateLimiter` per exchange connection holds named buckets (``requests`` for
request weight, ``orders`` for order placement). A call takes its cost from every bucket it
names, waiting (with the injected ``sleep``) until all have enough tokens. A ``Retry-After``
from the server pauses the whole limiter (:meth:`RateLimiter.pause_until`). Time comes from
the injected :class:`engine.ports.Clock`, so tests run on a fake clock in no real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from engine.adapters.retry import Sleep
from engine.ports import Clock

__all__ = ["RateSpec", "TokenBucket", "RateLimiter"]

_MIN_SLEEP = 0.001  # never spin: a wait shorter than the clock's resolution still sleeps 1 ms


@dataclass(frozen=True, slots=True)
class RateSpec:
    """``per_second`` tokens refill continuously up to ``burst``."""

    per_second: float
    burst: float

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst <= 0:
            raise ValueError(f"RateSpec: per_second and burst must be positive, got {self}")


class TokenBucket:
    """A bucket that starts full."""

    def __init__(self, spec: RateSpec, now_ms: int) -> None:
        self.spec = spec
        self.tokens = spec.burst
        self._updated_ms = now_ms

    def _refill(self, now_ms: int) -> None:
        elapsed = max(now_ms - self._updated_ms, 0) / 1000
        self.tokens = min(self.spec.burst, self.tokens + elapsed * self.spec.per_second)
        self._updated_ms = max(now_ms, self._updated_ms)

    def wait_seconds(self, cost: float, now_ms: int) -> float:
        """Seconds until ``cost`` tokens are available (0 when they are now)."""
        if cost > self.spec.burst:
            raise ValueError(f"cost {cost} exceeds the bucket's burst {self.spec.burst}")
        self._refill(now_ms)
        missing = cost - self.tokens
        return 0.0 if missing <= 0 else missing / self.spec.per_second

    def take(self, cost: float, now_ms: int) -> None:
        self._refill(now_ms)
        self.tokens -= cost


class RateLimiter:
    """Named token buckets plus a global pause; waiters are served first come, first served."""

    def __init__(self, buckets: Mapping[str, RateSpec], clock: Clock, sleep: Sleep) -> None:
        now = clock.now_ms()
        self._buckets = {name: TokenBucket(spec, now) for name, spec in buckets.items()}
        self._clock = clock
        self._sleep = sleep
        self._paused_until_ms = 0
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0

    def bucket(self, name: str) -> TokenBucket:
        return self._buckets[name]

    def pause_until(self, at_ms: int) -> None:
        """No call is let through before ``at_ms`` (a server's Retry-After)."""
        self._paused_until_ms = max(self._paused_until_ms, at_ms)

    @property
    def paused_until_ms(self) -> int:
        return self._paused_until_ms

    async def acquire(self, costs: Mapping[str, float]) -> None:
        """Wait until every named bucket holds its cost, then take it."""
        unknown = set(costs) - set(self._buckets)
        if unknown:
            raise KeyError(f"unknown rate-limit bucket(s): {sorted(unknown)}")
        async with self._lock:
            while True:
                now = self._clock.now_ms()
                wait = max(self._paused_until_ms - now, 0) / 1000
                for name, cost in costs.items():
                    wait = max(wait, self._buckets[name].wait_seconds(cost, now))
                if wait <= 0:
                    for name, cost in costs.items():
                        self._buckets[name].take(cost, now)
                    return
                wait = max(wait, _MIN_SLEEP)
                self.waited_seconds += wait
                await self._sleep(wait)
