"""Connection state of one exchange account (SPEC §10 health): ``ok``, ``degraded``,
``disconnected`` or ``auth_failed``, with the time it last changed and a listener that hears
every change (the service turns it into an ``ExchangeStateChanged`` event and an alert)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.domain import ConnectionState
from engine.errors import AuthFailed, ExchangeFailure, RateLimited, TransientError
from engine.ports import Clock

__all__ = ["ConnectionHealth", "HealthTracker", "StateListener"]

StateListener = Callable[[str, ConnectionState, str], None]


@dataclass(frozen=True, slots=True)
class ConnectionHealth:
    state: ConnectionState
    since_ms: int
    consecutive_failures: int
    last_error: str | None


class HealthTracker:
    """Rules: an answer from the exchange (success or a business refusal) -> ``ok``; a
    transient failure -> ``degraded``, or ``disconnected`` from ``disconnect_after``
    consecutive ones or when retries ran out; refused keys -> ``auth_failed``, which only
    :meth:`reset` (new keys) or a successful private call clears."""

    def __init__(
        self,
        exchange: str,
        clock: Clock,
        *,
        disconnect_after: int = 3,
        listener: StateListener | None = None,
    ) -> None:
        self.exchange = exchange
        self._clock = clock
        self._disconnect_after = disconnect_after
        self._listener = listener
        self.current = ConnectionHealth(ConnectionState.OK, clock.now_ms(), 0, None)

    @property
    def state(self) -> ConnectionState:
        return self.current.state

    def _set(self, state: ConnectionState, failures: int, error: str | None) -> None:
        old = self.current.state
        since = self.current.since_ms if state == old else self._clock.now_ms()
        self.current = ConnectionHealth(state, since, failures, error)
        if state != old and self._listener is not None:
            self._listener(self.exchange, state, error or "")

    def answered(self, private: bool) -> None:
        if self.state == ConnectionState.AUTH_FAILED and not private:
            return  # a public answer says nothing about the keys
        self._set(ConnectionState.OK, 0, None)

    def failed(self, failure: ExchangeFailure, private: bool) -> None:
        if isinstance(failure, AuthFailed):
            self._set(ConnectionState.AUTH_FAILED, 0, str(failure))
        elif isinstance(failure, TransientError):
            if self.state == ConnectionState.AUTH_FAILED:
                return
            failures = self.current.consecutive_failures + 1
            bad = failures >= self._disconnect_after and not isinstance(failure, RateLimited)
            # only an answer from the exchange lifts "disconnected"
            bad = bad or self.state == ConnectionState.DISCONNECTED
            state = ConnectionState.DISCONNECTED if bad else ConnectionState.DEGRADED
            self._set(state, failures, str(failure))
        else:
            self.answered(private)

    def gave_up(self, failure: ExchangeFailure) -> None:
        """Retries ran out on a transient failure (a rate limit only degrades)."""
        if self.state == ConnectionState.AUTH_FAILED or isinstance(failure, RateLimited):
            return
        self._set(ConnectionState.DISCONNECTED, self.current.consecutive_failures, str(failure))

    def reset(self) -> None:
        self._set(ConnectionState.OK, 0, None)
