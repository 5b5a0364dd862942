"""The retry policy (backoff with jitter, Retry-After) and the token-bucket rate limiter, on a
fake clock: no real time passes."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.adapters.ratelimit import RateLimiter, RateSpec, TokenBucket
from engine.adapters.retry import RetryPolicy
from tests.kit.ccxt_fake import FakeClock

# -- retry policy -----------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, multiplier=2, max_delay=3, jitter=0)
    rng = random.Random(1)
    # 0.5 * 2**(n-1): 0.5, 1, 2, 4 -> capped at 3, 3
    assert [policy.backoff(n, rng) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_draws_from_the_seeded_generator() -> None:
    policy = RetryPolicy(base_delay=1, multiplier=2, max_delay=100, jitter=0.5)
    draws = random.Random(42)
    expected = [
        ceiling * (1 - 0.5 * draws.random()) for ceiling in (1.0, 2.0, 4.0)
    ]  # equal jitter: the ceiling times a factor in [0.5, 1]
    rng = random.Random(42)
    assert [policy.backoff(n, rng) for n in (1, 2, 3)] == expected
    rng_again = random.Random(42)
    assert [policy.backoff(n, rng_again) for n in (1, 2, 3)] == expected  # deterministic


@given(
    retry=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**32),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_backoff_stays_between_half_and_full_ceiling(retry: int, seed: int, jitter: float) -> None:
    policy = RetryPolicy(base_delay=0.25, multiplier=2, max_delay=8, jitter=jitter)
    ceiling = min(8.0, 0.25 * 2 ** (retry - 1))
    wait = policy.backoff(retry, random.Random(seed))
    assert ceiling * (1 - jitter) - 1e-12 <= wait <= ceiling + 1e-12


def test_retry_after_wins_when_longer() -> None:
    policy = RetryPolicy(base_delay=1, jitter=0)
    rng = random.Random(0)
    assert policy.delay(1, rng, retry_after=7.5) == 7.5
    assert policy.delay(1, rng, retry_after=0.2) == 1.0  # backoff longer than the hint
    assert policy.delay(2, rng) == 2.0


def test_should_retry_counts_attempts_and_refuses_long_bans() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=60)
    assert [policy.should_retry(a) for a in (1, 2, 3)] == [True, True, False]
    assert policy.should_retry(1, retry_after=60) is True
    assert policy.should_retry(1, retry_after=7200) is False  # a 418 ban: give up now


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_attempts", 0), ("base_delay", -1), ("multiplier", 0.5), ("jitter", 1.5)],
)
def test_policy_rejects_nonsense(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"RetryPolicy.{field}"):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


# -- token bucket -----------------------------------------------------------------------


def test_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(RateSpec(per_second=10, burst=5), now_ms=0)
    for _ in range(5):
        assert bucket.wait_seconds(1, 0) == 0
        bucket.take(1, 0)
    # empty: one token takes 1/10 s; 3 tokens take 0.3 s
    assert bucket.wait_seconds(1, 0) == pytest.approx(0.1)
    assert bucket.wait_seconds(3, 0) == pytest.approx(0.3)
    # 250 ms later 2.5 tokens are back
    assert bucket.wait_seconds(2, 250) == 0
    assert bucket.wait_seconds(3, 250) == pytest.approx(0.05)
    # never above the burst: after 10 s still 5
    assert bucket.wait_seconds(5, 10_250) == 0
    with pytest.raises(ValueError, match="exceeds the bucket's burst"):
        bucket.wait_seconds(6, 10_250)


async def test_limiter_spaces_calls_under_the_rate() -> None:
    clock = FakeClock(now_ms=0)
    limiter = RateLimiter({"requests": RateSpec(per_second=20, burst=4)}, clock, clock.sleep)

    async def run() -> list[int]:
        times = []
        for _ in range(8):
            await limiter.acquire({"requests": 1})
            times.append(clock.now_ms())
        return times

    # 4 at once (the burst), then one every 1/20 s = 50 ms
    assert await run() == [0, 0, 0, 0, 50, 100, 150, 200]


async def test_limiter_takes_from_every_named_bucket() -> None:
    clock = FakeClock(now_ms=0)
    limiter = RateLimiter(
        {
            "requests": RateSpec(per_second=100, burst=100),
            "orders": RateSpec(per_second=2, burst=1),
        },
        clock,
        clock.sleep,
    )

    async def run() -> list[int]:
        times = []
        for _ in range(3):
            await limiter.acquire({"requests": 1, "orders": 1})
            times.append(clock.now_ms())
        await limiter.acquire({"requests": 1})  # not an order: no wait
        times.append(clock.now_ms())
        return times

    # orders: burst 1 then 1 per 0.5 s
    assert await run() == [0, 500, 1000, 1000]


async def test_pause_until_holds_every_call() -> None:
    clock = FakeClock(now_ms=10_000)
    limiter = RateLimiter({"requests": RateSpec(per_second=100, burst=10)}, clock, clock.sleep)
    limiter.pause_until(12_500)

    async def run() -> int:
        await limiter.acquire({"requests": 1})
        return clock.now_ms()

    assert await run() == 12_500
    assert limiter.waited_seconds == pytest.approx(2.5)


async def test_limiter_refuses_unknown_bucket() -> None:
    clock = FakeClock(now_ms=0)
    limiter = RateLimiter({"requests": RateSpec(1, 1)}, clock, clock.sleep)
    with pytest.raises(KeyError, match="orders"):
        await limiter.acquire({"orders": 1})


async def test_limiter_serves_concurrent_callers_in_arrival_order() -> None:
    clock = FakeClock(now_ms=0)
    limiter = RateLimiter({"requests": RateSpec(per_second=10, burst=1)}, clock, clock.sleep)
    order: list[str] = []

    async def caller(name: str) -> None:
        await limiter.acquire({"requests": 1})
        order.append(f"{name}@{clock.now_ms()}")

    async def run() -> None:
        await asyncio.gather(*(caller(n) for n in "abc"))

    await run()
    assert order == ["a@0", "b@100", "c@200"]
