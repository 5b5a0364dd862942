"""The deterministic engine: ``handle(event) -> Decision``; no I/O, no clock, no randomness.

Runners (the live service, the scenario and backtest loops) feed it events and carry out the
commands it returns; the same code decides in every mode. Engine time is the ``at_ms`` of the
events (never earlier than the latest seen). After the event's own handling, every group it
touched is reconciled (orders sent or cancelled to match the state), queued signals are
promoted where a slot or condition allows, and a risk cycle runs for every user whose
``evaluate_interval_seconds`` has elapsed.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from engine.closing import begin_close
from engine.config import UserConfig, parse_user_config
from engine.context import Context
from engine.domain import Category, ConnectionState, Decision, OrderPurpose, Severity, Signal
from engine.domain.events import (
    ClosePositionRequested,
    Event,
    ExchangeStateChanged,
    MarketRulesLoaded,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PriceMoved,
    QueueForceAddRequested,
    QueuePromoteRequested,
    QueueRemoveRequested,
    RiskControlRequested,
    RiskRunRequested,
    SignalReceived,
    TimePassed,
    UserConfigured,
)
from engine.ids import validate_namespace
from engine.intake import handle_signal
from engine.lifecycle import reconcile
from engine.orders import on_accepted, on_cancelled, on_filled, on_rejected
from engine.pool import ranked_candidates
from engine.promotion import manual_promote, manual_remove, promote
from engine.risk import apply_control, risk_cycle_due, run_cycle
from engine.snapshot import dump_state, load_state
from engine.state import EngineState, QueueEntry, UserState
from engine.triggers import on_price
from engine.views import (
    GroupView,
    MetricsView,
    OrderView,
    QueueEntryTerms,
    QueueEntryView,
    RiskStatusView,
    group_view,
    metrics_view,
    order_view,
    risk_status_view,
)

__all__ = ["Engine", "EngineInputError"]

_MAX_SETTLE_ROUNDS = 1000
_EVENT_TYPES = typing.get_args(Event)


class EngineInputError(ValueError):
    """An event the engine cannot accept at all (wrong type, invalid config); ``field`` names
    the offending input and ``reason`` is a code."""

    def __init__(self, field: str, reason: str, detail: str) -> None:
        super().__init__(f"{field}: {detail} ({reason})")
        self.field = field
        self.reason = reason


class Engine:
    """One engine instance holds the state of every user it serves."""

    def __init__(self, namespace: str = "q") -> None:
        self._state = EngineState(namespace=validate_namespace(namespace))
        self._cache: dict[str, Any] = {}  # memo of derived values; never part of the state
        self._terms: dict[str, tuple[QueueEntry, Signal, QueueEntryTerms]] = {}

    # ------------------------------------------------------------------ properties
    @property
    def namespace(self) -> str:
        return self._state.namespace

    @property
    def now_ms(self) -> int:
        """Engine time: the latest ``at_ms`` seen."""
        return self._state.now_ms

    # ------------------------------------------------------------------ events
    def handle(self, event: Event) -> Decision:
        """Apply one event and return everything decided because of it."""
        if not isinstance(event, _EVENT_TYPES):
            raise EngineInputError("event", "unknown_event", f"{type(event).__name__}")
        at_ms = getattr(event, "at_ms", None)
        if not isinstance(at_ms, int) or isinstance(at_ms, bool) or at_ms < 0:
            raise EngineInputError("at_ms", "invalid_time", f"expected epoch ms >= 0: {at_ms!r}")
        if isinstance(event, (MarketRulesLoaded, UserConfigured)):
            self._cache.clear()  # tick sizes or fallback rules may change derived prices
        ctx = Context(self._state, at_ms, self._cache)
        self._dispatch(ctx, event)
        self._settle(ctx)
        for user_id in sorted(self._state.users):
            if risk_cycle_due(ctx, user_id):
                run_cycle(ctx, user_id)
        self._settle(ctx)
        return ctx.decision

    def _dispatch(self, ctx: Context, event: Event) -> None:
        if isinstance(event, SignalReceived):
            handle_signal(ctx, event.signal, deduplicated=event.deduplicated)
        elif isinstance(event, PriceMoved):
            on_price(ctx, event)
        elif isinstance(event, OrderFilled):
            on_filled(ctx, event)
        elif isinstance(event, OrderAccepted):
            on_accepted(ctx, event.client_order_id, event.exchange_order_id)
        elif isinstance(event, OrderCancelled):
            on_cancelled(ctx, event.client_order_id)
        elif isinstance(event, OrderRejected):
            on_rejected(ctx, event.client_order_id, event.reason, event.message)
        elif isinstance(event, TimePassed):
            self._on_time(ctx)
        elif isinstance(event, UserConfigured):
            self._on_user(ctx, event)
        elif isinstance(event, MarketRulesLoaded):
            self._on_rules(ctx, event)
        elif isinstance(event, ExchangeStateChanged):
            self._on_exchange_state(ctx, event)
        elif isinstance(event, ClosePositionRequested):
            self._on_close_requested(ctx, event)
        elif isinstance(event, QueuePromoteRequested):
            manual_promote(ctx, event.queue_id, force=False)
        elif isinstance(event, QueueForceAddRequested):
            manual_promote(ctx, event.queue_id, force=True)
        elif isinstance(event, QueueRemoveRequested):
            manual_remove(ctx, event.queue_id)
        elif isinstance(event, RiskControlRequested):
            apply_control(ctx, event.group_id, event.action)
        elif isinstance(event, RiskRunRequested):
            self._on_risk_run(ctx, event)
        else:
            raise EngineInputError("event", "unknown_event", f"{type(event).__name__}")

    def _settle(self, ctx: Context) -> None:
        """Reconcile touched groups and promote queues until nothing changes."""
        for _ in range(_MAX_SETTLE_ROUNDS):
            while ctx.dirty_groups:
                group = self._state.groups[ctx.dirty_groups.pop(0)]
                reconcile(ctx, group)
            users = sorted(ctx.dirty_users)
            ctx.dirty_users.clear()
            for user_id in users:
                promote(ctx, user_id)
            if not ctx.dirty_groups and not ctx.dirty_users:
                return
        raise RuntimeError("engine did not settle; this is a bug")  # pragma: no cover

    def _on_time(self, ctx: Context) -> None:
        # timers, retries after rejections and waiting closes are re-checked on every tick
        for group in self._state.open_groups():
            ctx.touch(group)

    def _on_user(self, ctx: Context, event: UserConfigured) -> None:
        config = event.config
        if isinstance(config, Mapping):
            config = parse_user_config(config)
        if not isinstance(config, UserConfig):
            raise EngineInputError(
                "config", "invalid_type", f"expected a UserConfig, got {type(config).__name__}"
            )
        if not event.user_id:
            raise EngineInputError("user_id", "missing", "user id is empty")
        user = self._state.users.get(event.user_id)
        if user is None:
            self._state.users[event.user_id] = UserState(event.user_id, config)
            message = "User registered"
        else:
            user.config = config
            message = "User config updated"
        ctx.audit(Category.SYSTEM, Severity.INFO, message, user_id=event.user_id)
        ctx.touch_user(event.user_id)

    def _on_rules(self, ctx: Context, event: MarketRulesLoaded) -> None:
        exchange = event.exchange
        rules = {rule.symbol: rule for rule in event.rules if rule.exchange == exchange}
        if event.complete_listing:
            self._state.rules[exchange] = rules
            self._state.listings[exchange] = True
        else:
            self._state.rules.setdefault(exchange, {}).update(rules)
            self._state.listings.setdefault(exchange, False)
        incomplete = sorted(symbol for symbol, rule in rules.items() if not rule.is_complete)
        ctx.audit(
            Category.PRECISION,
            Severity.WARNING if incomplete else Severity.INFO,
            "Market rules loaded",
            exchange=exchange,
            symbols=len(rules),
            incomplete=incomplete[:50],
            complete_listing=event.complete_listing,
        )
        for user_id in self._state.users:
            ctx.touch_user(user_id)

    def _on_exchange_state(self, ctx: Context, event: ExchangeStateChanged) -> None:
        user = self._state.users.get(event.user_id)
        if user is None:
            ctx.audit(
                Category.SYSTEM,
                Severity.ERROR,
                "Exchange state for an unknown user",
                field="user_id",
                reason="unknown_user",
                user_id=event.user_id,
            )
            return
        if event.state not in {state.value for state in ConnectionState}:
            ctx.audit(
                Category.SYSTEM,
                Severity.ERROR,
                "Unknown exchange connection state",
                field="state",
                reason="invalid_state",
                user_id=event.user_id,
                exchange=event.exchange,
                state=event.state,
            )
            return
        user.exchange_states[event.exchange] = event.state
        severity = Severity.INFO if event.state == "ok" else Severity.ERROR
        ctx.audit(
            Category.SYSTEM,
            severity,
            "Exchange connection state changed",
            user_id=event.user_id,
            exchange=event.exchange,
            state=event.state,
        )

    def _on_close_requested(self, ctx: Context, event: ClosePositionRequested) -> None:
        group = self._state.groups.get(event.group_id)
        if group is None or not group.is_open:
            ctx.audit(
                Category.ORDER,
                Severity.ERROR,
                "Close requested for a group that is not open",
                field="group_id",
                reason="unknown_group" if group is None else "not_open",
                group_id=event.group_id,
            )
            return
        begin_close(ctx, group, OrderPurpose.EXIT, "manual_close")

    def _on_risk_run(self, ctx: Context, event: RiskRunRequested) -> None:
        users = [event.user_id] if event.user_id is not None else sorted(self._state.users)
        for user_id in users:
            if user_id not in self._state.users:
                ctx.audit(
                    Category.RISK,
                    Severity.ERROR,
                    "Risk run for an unknown user",
                    field="user_id",
                    reason="unknown_user",
                    user_id=user_id,
                )
                continue
            self._settle(ctx)
            run_cycle(ctx, user_id, forced=True)

    # ------------------------------------------------------------------ views
    def groups(self, user_id: str | None = None) -> list[GroupView]:
        """Every group (open and closed), oldest first, optionally of one user."""
        return [
            group_view(self._state, group)
            for group in self._state.groups.values()
            if user_id is None or group.user_id == user_id
        ]

    def group(self, group_id: str) -> GroupView | None:
        group = self._state.groups.get(group_id)
        return None if group is None else group_view(self._state, group)

    def queue(self, user_id: str) -> list[QueueEntryView]:
        """The user's queue, best ranked first (rank 1 is promoted first)."""
        user = self._state.users.get(user_id)
        if user is None:
            return []
        ctx = Context(self._state, self._state.now_ms)
        pairs = ranked_candidates(ctx, user, list(user.queue))
        return [
            QueueEntryView(
                queue_id=entry.queue_id,
                rank=rank,
                user_id=user_id,
                signal_id=entry.signal.signal_id,
                exchange=entry.signal.exchange,
                symbol=entry.signal.symbol,
                timeframe=entry.signal.timeframe,
                side=entry.key.side.value,
                entry_price=entry.signal.entry_price,
                order_size=entry.signal.order_size,
                size_type=entry.signal.size_type,
                reason=entry.reason,
                replacement_count=entry.replacement_count,
                queued_at_ms=entry.queued_at_ms,
                updated_at_ms=entry.updated_at_ms,
                loss_percent=candidate.loss_percent,
                is_continuation=candidate.is_continuation,
            )
            for rank, (entry, candidate) in enumerate(pairs, start=1)
        ]

    def queue_terms(self, user_id: str) -> list[QueueEntryTerms]:
        """The user's queued signals in queue order, without ranking them (what the store
        keeps of each; O(n)). The terms of an entry whose signal, replacement count, reason
        and times did not change are reused (signals are immutable)."""
        user = self._state.users.get(user_id)
        if user is None:
            return []
        found: list[QueueEntryTerms] = []
        for entry in user.queue:
            cached = self._terms.get(entry.queue_id)
            if cached is not None:
                held, signal, terms = cached
                if (
                    held is entry
                    and signal is entry.signal
                    and terms.user_id == user_id
                    and terms.reason == entry.reason
                    and terms.replacement_count == entry.replacement_count
                    and terms.queued_at_ms == entry.queued_at_ms
                    and terms.updated_at_ms == entry.updated_at_ms
                ):
                    found.append(terms)
                    continue
            terms = _entry_terms(user_id, entry)
            self._terms[entry.queue_id] = (entry, entry.signal, terms)
            found.append(terms)
        if len(self._terms) > 2 * sum(len(u.queue) for u in self._state.users.values()) + 64:
            live = {e.queue_id for u in self._state.users.values() for e in u.queue}
            self._terms = {k: v for k, v in self._terms.items() if k in live}
        return found

    def risk_status(self, user_id: str) -> RiskStatusView | None:
        user = self._state.users.get(user_id)
        return None if user is None else risk_status_view(self._state, user)

    def metrics(self, user_id: str) -> MetricsView | None:
        user = self._state.users.get(user_id)
        return None if user is None else metrics_view(self._state, user)

    def orders(self, group_id: str | None = None) -> list[OrderView]:
        """Every order the engine decided, in the order it decided them."""
        return [
            order_view(order)
            for order in self._state.orders.values()
            if group_id is None or order.group_id == group_id
        ]

    def order(self, client_order_id: str) -> OrderView | None:
        order = self._state.orders.get(client_order_id)
        return None if order is None else order_view(order)

    def users(self) -> list[str]:
        return sorted(self._state.users)

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data (Decimals as strings)."""
        return dump_state(self._state)

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> Engine:
        """An engine in exactly the state :meth:`snapshot` captured."""
        engine = cls.__new__(cls)
        engine._state = load_state(snapshot)
        engine._cache = {}
        engine._terms = {}
        return engine


def _entry_terms(user_id: str, entry: QueueEntry) -> QueueEntryTerms:
    signal = entry.signal
    return QueueEntryTerms(
        queue_id=entry.queue_id,
        user_id=user_id,
        signal_id=signal.signal_id,
        exchange=signal.exchange,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        side=entry.key.side.value,
        entry_price=signal.entry_price,
        order_size=signal.order_size,
        size_type=signal.size_type,
        reason=entry.reason,
        replacement_count=entry.replacement_count,
        queued_at_ms=entry.queued_at_ms,
        updated_at_ms=entry.updated_at_ms,
    )
