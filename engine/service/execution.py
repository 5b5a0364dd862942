"""Carrying out engine commands through the exchange ports and turning what the exchange
answers into engine events (SPEC §10).

Errors come in the project's hierarchy (``engine.errors``), already translated by the
adapters:

- ``TransientError`` (down, 5xx, timeout, response lost): the command's outcome is unknown; it
  stays *pending* and the next attempt first looks the order up by its client order id, so an
  order is never placed twice.
- ``RateLimited``: wait ``Retry-After`` (capped), then one more attempt; still limited ->
  pending.
- ``AuthFailed``: the exchange is marked ``auth_failed`` (``ExchangeStateChanged`` for every
  user trading on it), the order is rejected with ``exchange_auth_failed`` and an alert is
  written; nothing retries in a loop.
- ``OrderRejectedError``: ``OrderRejected`` with the adapter's reason code.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from engine.domain import (
    ZERO,
    CancelOrder,
    Category,
    ConnectionState,
    OrderStatus,
    PlaceOrder,
    Reason,
    Severity,
)
from engine.domain.events import (
    Event,
    ExchangeStateChanged,
    MarketRulesLoaded,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
)
from engine.errors import (
    AuthFailed,
    ExchangeFailure,
    NotFound,
    OrderRejectedError,
    RateLimited,
    TransientError,
)
from engine.ports import Clock, ExchangePort, OrderReport, ProbesAuth, ReportsNotices
from engine.service.accounts import UserAccounts, account_key, split_account
from engine.store import EventRecord
from engine.views import OrderView

__all__ = [
    "ExecResult",
    "ExchangeHealth",
    "Executor",
    "events_from_report",
]

T = TypeVar("T")
_LIVE = ("pending", "open", "partially_filled")


@dataclass(slots=True)
class ExecResult:
    """Events to feed back to the engine, service audit records, and whether the command
    must be retried later (its outcome is unknown or the exchange was unreachable)."""

    events: list[Event] = field(default_factory=list)
    alerts: list[EventRecord] = field(default_factory=list)
    deferred: bool = False
    error: str | None = None


class ExchangeHealth:
    """Connection state per account (``ok``, ``degraded``, ``disconnected``,
    ``auth_failed``), as the last calls found it. Keys are account keys
    (:func:`engine.service.accounts.account_key`): the exchange name for the service's own
    account, ``<exchange>:<user_id>`` for a user's."""

    def __init__(self, exchanges: Sequence[str]) -> None:
        self._states: dict[str, ConnectionState] = {name: ConnectionState.OK for name in exchanges}

    def state(self, account: str) -> ConnectionState:
        """An exchange never configured is ``disconnected``; a user's account not called yet
        is ``ok`` (its exchange is configured, its keys are untried)."""
        _, user_id = split_account(account)
        unseen = ConnectionState.DISCONNECTED if user_id is None else ConnectionState.OK
        return self._states.get(account, unseen)

    def states(self) -> dict[str, str]:
        """The service's own accounts, by exchange (what the public ``/health`` shows)."""
        return {
            name: state.value
            for name, state in sorted(self._states.items())
            if split_account(name)[1] is None
        }

    def user_account_states(self) -> dict[str, dict[str, int]]:
        """Users' own accounts: per exchange, how many are in each state (no user ids)."""
        counts: dict[str, dict[str, int]] = {}
        for key, state in sorted(self._states.items()):
            exchange, user_id = split_account(key)
            if user_id is not None:
                per_state = counts.setdefault(exchange, {})
                per_state[state.value] = per_state.get(state.value, 0) + 1
        return counts

    def accounts_in(self, state: ConnectionState) -> list[str]:
        """Every account key (the service's and users') currently in ``state``."""
        return [key for key, current in sorted(self._states.items()) if current is state]

    def forget(self, account: str) -> None:
        """Drop a user account's record (its port is rebuilt from new keys)."""
        if split_account(account)[1] is not None:
            self._states.pop(account, None)

    def set(self, exchange: str, state: ConnectionState) -> ConnectionState:
        """Record ``state``; returns the previous one."""
        previous = self._states.get(exchange, ConnectionState.OK)
        self._states[exchange] = state
        return previous


def _known_filled(view: OrderView | None) -> tuple[Decimal, Decimal]:
    """(filled quantity, filled cost) the engine has booked for an order."""
    if view is None or view.filled_quantity == 0 or view.average_price is None:
        return ZERO, ZERO
    return view.filled_quantity, view.filled_quantity * view.average_price


def events_from_report(
    report: OrderReport, view: OrderView | None, at_ms: int, *, reject_reason: str = ""
) -> list[Event]:
    """The events that bring the engine's order (``view``) up to the exchange's ``report``:
    accepted, each new fill (by trade id; a cumulative fill when the exchange gives no
    trades), cancelled or rejected."""
    cid = report.client_order_id
    events: list[Event] = []
    status = None if view is None else view.status
    if report.status is OrderStatus.REJECTED:
        if status in _LIVE:
            events.append(
                OrderRejected(cid, reject_reason or Reason.ORDER_REJECTED.value, "rejected", at_ms)
            )
        return events
    if status == "pending" or view is None:
        events.append(OrderAccepted(cid, report.exchange_order_id, at_ms))
    known_qty, known_cost = _known_filled(view)
    if report.filled_quantity > known_qty:
        fills_total = sum((fill.quantity for fill in report.fills), ZERO)
        if report.fills and fills_total >= report.filled_quantity:
            events.extend(
                OrderFilled(
                    cid,
                    fill.quantity,
                    fill.price,
                    fill.fee,
                    fill.fee_asset,
                    at_ms,
                    trade_id=fill.trade_id,
                )
                for fill in report.fills
            )  # the engine ignores trade ids it has already booked
        else:
            delta = report.filled_quantity - known_qty
            average = report.average_price
            if average is not None and average > 0:
                price = (average * report.filled_quantity - known_cost) / delta
                if price <= 0:
                    price = average
                trade_id = f"cum-{report.filled_quantity.normalize()}"
                events.append(OrderFilled(cid, delta, price, ZERO, "", at_ms, trade_id=trade_id))
    if report.status is OrderStatus.CANCELLED and (status in _LIVE or view is None):
        events.append(OrderCancelled(cid, at_ms))
    return events


class Executor:
    """Sends commands to the exchange ports; owns the connection health."""

    def __init__(
        self,
        exchanges: Mapping[str, ExchangePort],
        clock: Clock,
        *,
        users_of: Callable[[str], list[str]],
        rate_limit_max_wait_seconds: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        accounts: UserAccounts | None = None,
    ) -> None:
        self.exchanges = dict(exchanges)
        self.accounts = accounts
        self.clock = clock
        self.health = ExchangeHealth(list(self.exchanges))
        self._users_of = users_of
        self._max_wait = rate_limit_max_wait_seconds
        self._sleep = sleep
        self.rng = rng or random.Random(0)

    # ----------------------------------------------------------------- helpers
    def port(self, exchange: str) -> ExchangePort | None:
        """The service's own account on ``exchange``."""
        return self.exchanges.get(exchange)

    def account_of(self, exchange: str, user_id: str | None) -> str:
        """The account key a user's private calls on ``exchange`` go to (see
        :mod:`engine.service.accounts`): their own when they stored keys, else the service's."""
        if user_id is None or self.accounts is None or exchange not in self.exchanges:
            return exchange
        own = self.accounts.port(exchange, user_id)
        return exchange if own is None else account_key(exchange, user_id)

    async def forget_accounts(self, user_id: str | None) -> None:
        """Keys may have changed: the users' own ports (one user's, or everyone's) are closed
        and built again from the store on next use, with a fresh health record."""
        if self.accounts is None:
            return
        for exchange, owner, _port in self.accounts.built():
            if user_id is None or owner == user_id:
                self.health.forget(account_key(exchange, owner))
        await self.accounts.forget(user_id)

    def port_of(self, account: str) -> ExchangePort | None:
        exchange, user_id = split_account(account)
        if user_id is None or self.accounts is None:
            return self.port(exchange)
        return self.accounts.port(exchange, user_id)

    def _alert(
        self, message: str, *, severity: Severity = Severity.ERROR, **data: Any
    ) -> EventRecord:
        clean = {k: v for k, v in data.items() if v is not None}
        alert = severity in (Severity.ERROR, Severity.CRITICAL)
        return EventRecord(
            category=Category.ERROR if alert else Category.SYSTEM,
            severity=severity,
            message=message,
            at_ms=self.clock.now_ms(),
            data={**clean, "alert": alert},
            user_id=data.get("user_id"),
            symbol=data.get("symbol"),
            exchange=data.get("exchange"),
        )

    def _state_events(self, account: str, state: ConnectionState) -> list[Event]:
        """The engine hears of an account's auth state for each user trading on it."""
        exchange, owner = split_account(account)
        now = self.clock.now_ms()
        users = (
            [owner]
            if owner is not None
            else [u for u in self._users_of(exchange) if self.account_of(exchange, u) == exchange]
        )
        return [ExchangeStateChanged(user_id, exchange, state.value, now) for user_id in users]

    def succeeded(self, account: str, *, private: bool = True) -> ExecResult:
        """Record a successful call; leaving ``auth_failed`` tells the engine. A public call
        (prices, markets) proves nothing about the keys: it never clears ``auth_failed``."""
        result = ExecResult()
        if not private and self.health.state(account) is ConnectionState.AUTH_FAILED:
            return result
        previous = self.health.set(account, ConnectionState.OK)
        if previous is not ConnectionState.OK:
            result.alerts.append(
                self._alert(
                    "Exchange connection restored",
                    severity=Severity.INFO,
                    **_where(account),
                    previous=previous.value,
                )
            )
            if previous is ConnectionState.AUTH_FAILED:
                result.events.extend(self._state_events(account, ConnectionState.OK))
        return result

    def failed(self, account: str, error: ExchangeFailure, **context: Any) -> ExecResult:
        """Record a failed call: the new health state, an alert, engine events for auth."""
        result = ExecResult(error=str(error))
        if isinstance(error, AuthFailed):
            previous = self.health.set(account, ConnectionState.AUTH_FAILED)
            result.alerts.append(
                self._alert(
                    "Exchange rejected the API keys: account marked auth_failed",
                    severity=Severity.CRITICAL,
                    **_where(account),
                    reason=Reason.EXCHANGE_AUTH_FAILED.value,
                    detail=str(error),
                    **context,
                )
            )
            if previous is not ConnectionState.AUTH_FAILED:
                result.events.extend(self._state_events(account, ConnectionState.AUTH_FAILED))
            return result
        state = (
            ConnectionState.DEGRADED
            if isinstance(error, RateLimited)
            else ConnectionState.DISCONNECTED
        )
        self.health.set(account, state)
        result.alerts.append(
            self._alert(
                "Exchange rate limit hit"
                if isinstance(error, RateLimited)
                else "Exchange unavailable",
                severity=Severity.ERROR,
                **_where(account),
                reason=Reason.EXCHANGE_UNAVAILABLE.value,
                state=state.value,
                detail=str(error),
                **context,
            )
        )
        return result

    async def _call(
        self,
        account: str,
        action: Callable[[], Awaitable[T]],
        *,
        private: bool = True,
        **context: Any,
    ) -> tuple[T | None, ExecResult]:
        """Run one port call; honour one Retry-After; translate failures into a result."""
        notes: list[EventRecord] = []
        try:
            try:
                value = await action()
            except RateLimited as limited:
                wait = limited.retry_after_seconds
                wait = 1.0 if wait is None else wait
                if wait > self._max_wait:
                    raise
                notes.append(
                    self._alert(
                        "Exchange rate limit hit; waiting Retry-After before one more attempt",
                        severity=Severity.WARNING,
                        **_where(account),
                        retry_after_seconds=wait,
                        detail=str(limited),
                        **context,
                    )
                )
                await self._sleep(max(0.0, wait))
                value = await action()
        except (TransientError, AuthFailed) as error:
            result = self.failed(account, error, **context)
            result.alerts[:0] = self._absorbed(account, context) + notes
            return None, result
        result = self.succeeded(account, private=private)
        result.alerts[:0] = self._absorbed(account, context) + notes
        return value, result

    def _absorbed(self, account: str, context: Mapping[str, Any]) -> list[EventRecord]:
        """Warnings for the failures the port retried by itself during the call (a ccxt
        adapter waits out a 429 and retries): the call went on, the operator still hears."""
        port = self.port_of(account)
        if not isinstance(port, ReportsNotices):
            return []
        return [
            self._alert(
                "Exchange rate limit hit; the adapter waited and retried"
                if notice.kind == "rate_limited"
                else "Exchange call failed; the adapter retried",
                severity=Severity.WARNING,
                **_where(account),
                operation=notice.operation,
                retry_after_seconds=notice.retry_after_seconds,
                detail=notice.detail,
                **context,
            )
            for notice in port.drain_notices()
        ]

    # ----------------------------------------------------------------- commands
    async def place(
        self, command: PlaceOrder, view: OrderView | None, *, lookup_first: bool
    ) -> ExecResult:
        """Send ``command`` (after looking it up by client order id when ``lookup_first``)."""
        cid = command.client_order_id
        account = self.account_of(command.exchange, command.user_id)
        port = self.port_of(account)
        now = self.clock.now_ms()
        if port is None:
            result = ExecResult()
            result.events.append(
                OrderRejected(
                    cid,
                    Reason.EXCHANGE_NOT_CONFIGURED.value,
                    f"exchange {command.exchange!r} is not configured",
                    now,
                )
            )
            return result

        async def send() -> OrderReport:
            if lookup_first:
                found = await port.fetch_order(command.symbol, cid)
                if found is not None:
                    return found
            return await port.place_order(command)

        context: dict[str, Any] = {
            "client_order_id": cid,
            "user_id": command.user_id,
            "symbol": command.symbol,
        }
        try:
            report, result = await self._call(account, send, **context)
        except OrderRejectedError as error:
            result = self.succeeded(account)
            result.events.append(OrderRejected(cid, error.reason, str(error), now))
            return result
        except NotFound as error:
            result = self.succeeded(account)
            result.events.append(OrderRejected(cid, Reason.ORDER_REJECTED.value, str(error), now))
            return result
        if report is None:
            if self.health.state(account) is ConnectionState.AUTH_FAILED:
                result.events.append(
                    OrderRejected(
                        cid,
                        Reason.EXCHANGE_AUTH_FAILED.value,
                        result.error or "auth failed",
                        now,
                    )
                )
            else:
                result.deferred = True
            return result
        result.events.extend(events_from_report(report, view, self.clock.now_ms()))
        return result

    async def cancel(self, command: CancelOrder, view: OrderView | None) -> ExecResult:
        """Cancel; an order found filled (or gone) while cancelling is booked as it is."""
        account = self.account_of(command.exchange, command.user_id)
        port = self.port_of(account)
        now = self.clock.now_ms()
        cid = command.client_order_id
        if port is None:
            result = ExecResult()
            result.events.append(OrderCancelled(cid, now))
            return result

        async def send() -> OrderReport | None:
            try:
                return await port.cancel_order(command)
            except (NotFound, OrderRejectedError):
                # already gone (filled, cancelled, never arrived): ask what it became
                return await port.fetch_order(command.symbol, cid)

        context: dict[str, Any] = {
            "client_order_id": cid,
            "user_id": command.user_id,
            "symbol": command.symbol,
        }
        report, result = await self._call(account, send, **context)
        if report is None:
            if result.error is None:  # the exchange has no such order: nothing rests
                result.events.append(OrderCancelled(cid, now))
            elif self.health.state(account) is not ConnectionState.AUTH_FAILED:
                result.deferred = True
            return result
        events = events_from_report(report, view, self.clock.now_ms())
        if report.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            result.deferred = True  # the exchange still shows it resting: try again later
        result.events.extend(events)
        return result

    async def fetch(
        self, exchange: str, symbol: str, cid: str, *, user_id: str | None = None
    ) -> tuple[OrderReport | None, ExecResult]:
        """One order by client id, from the account ``user_id`` trades on."""
        account = self.account_of(exchange, user_id)
        port = self.port_of(account)
        if port is None:
            return None, ExecResult()

        async def send() -> OrderReport | None:
            return await port.fetch_order(symbol, cid)

        try:
            return await self._call(account, send, client_order_id=cid, symbol=symbol)
        except (NotFound, OrderRejectedError):
            return None, ExecResult()

    async def open_orders(
        self, exchange: str, symbol: str | None, *, user_id: str | None = None
    ) -> tuple[list[OrderReport] | None, ExecResult]:
        """Open orders of the account ``user_id`` trades on (the service's by default)."""
        account = self.account_of(exchange, user_id)
        port = self.port_of(account)
        if port is None:
            return None, ExecResult()

        async def send() -> list[OrderReport]:
            return await port.fetch_open_orders(symbol)

        try:
            return await self._call(account, send, symbol=symbol)
        except (NotFound, OrderRejectedError) as error:
            return None, ExecResult(error=str(error))

    async def probe_auth(self, account: str) -> ExecResult:
        """One signed call on an account marked ``auth_failed`` (the adapter's own probe when
        it has one, else its open orders); an answer makes the account ``ok`` again."""
        port = self.port_of(account)
        if port is None:
            return ExecResult()

        async def send() -> Any:
            if isinstance(port, ProbesAuth):
                return await port.probe_auth()
            return await port.fetch_open_orders(None)

        try:
            _, result = await self._call(account, send)
        except (NotFound, OrderRejectedError) as error:
            return ExecResult(error=str(error))
        return result

    async def price(self, exchange: str, symbol: str) -> tuple[Decimal | None, ExecResult]:
        port = self.port(exchange)
        if port is None:
            return None, ExecResult()

        async def send() -> Decimal:
            return await port.fetch_price(symbol)

        try:
            return await self._call(exchange, send, private=False, symbol=symbol)
        except (NotFound, OrderRejectedError) as error:
            return None, ExecResult(error=str(error))

    async def load_markets(self, exchange: str) -> ExecResult:
        port = self.port(exchange)
        if port is None:
            return ExecResult(error=f"exchange {exchange!r} is not configured")

        async def send() -> Any:
            return await port.load_markets()

        try:
            rules, result = await self._call(exchange, send, private=False)
        except (NotFound, OrderRejectedError) as error:
            return ExecResult(error=str(error))
        if rules is None:
            result.deferred = True
            return result
        result.events.append(
            MarketRulesLoaded(exchange, tuple(rules), self.clock.now_ms(), complete_listing=True)
        )
        return result


def _where(account: str) -> dict[str, str]:
    """Alert fields naming an account: its exchange, and the account key when it is a
    user's own."""
    exchange, user_id = split_account(account)
    return {"exchange": exchange} if user_id is None else {"exchange": exchange, "account": account}
