"""Writing what one ``Engine.handle`` changed to the store, in one transaction.

The engine hands out frozen views; this module remembers the last view it wrote of each
group, order and queue entry and writes only those that changed (plus the decision's signal
outcomes, audit events and risk actions, and the fill that was booked). Groups still open are
re-checked after every event (their marks and timers move); closed ones only when an event
names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.core import Engine
from engine.domain import Decision, Outcome, PlaceOrder
from engine.domain.events import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    SignalReceived,
)
from engine.service.logs import log_audit
from engine.service.records import (
    event_record,
    group_records,
    order_record,
    queued_record,
    signal_record,
)
from engine.store import (
    EventRecord,
    FillRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    OutcomeUpdate,
    PyramidRecord,
    QueuedSignalRecord,
    SignalRecord,
    Store,
    StoreBatch,
)
from engine.views import GroupView, OrderView, QueueEntryTerms

__all__ = ["EnginePersister", "FINAL_GROUP_STATES"]

FINAL_GROUP_STATES = ("closed", "failed")
_PROMOTED_OUTCOMES = frozenset(
    {Outcome.OPENED.value, Outcome.PYRAMID.value, Outcome.REVERSED.value}
)
_ORDER_EVENTS = (OrderAccepted, OrderFilled, OrderCancelled, OrderRejected)


@dataclass(slots=True)
class _Batch:
    groups: list[GroupRecord] = field(default_factory=list)
    pyramids: list[PyramidRecord] = field(default_factory=list)
    legs: list[LegRecord] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    fills: list[FillRecord] = field(default_factory=list)
    queued: list[QueuedSignalRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    signals: list[SignalRecord] = field(default_factory=list)

    def freeze(self, decision: Decision, outcomes: Sequence[OutcomeUpdate]) -> StoreBatch:
        return StoreBatch(
            groups=self.groups,
            pyramids=self.pyramids,
            legs=self.legs,
            orders=self.orders,
            fills=self.fills,
            queued=self.queued,
            risk_actions=list(decision.risk_actions),
            events=self.events,
            signals=self.signals,
            outcomes=outcomes,
        )


class EnginePersister:
    """Keeps the store in step with one engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._groups: dict[str, GroupView] = {}
        self._orders: dict[str, OrderView] = {}
        self._group_orders: dict[str, list[str]] = {}
        self._open: set[str] = set()
        self._queues: dict[str, dict[str, QueueEntryTerms]] = {}

    # ----------------------------------------------------------------- state
    def adopt(self, engine: Engine) -> None:
        """Forget what was written and index ``engine`` afresh (after a restore)."""
        self._groups.clear()
        self._orders.clear()
        self._group_orders.clear()
        self._queues.clear()
        self._open = set()
        for order in engine.orders():
            self._group_orders.setdefault(order.group_id, []).append(order.client_order_id)
            self._orders[order.client_order_id] = order
        for group in engine.groups():
            self._groups[group.group_id] = group
            if group.status not in FINAL_GROUP_STATES:
                self._open.add(group.group_id)
        for user_id in engine.users():
            self._queues[user_id] = {view.queue_id: view for view in engine.queue_terms(user_id)}

    @property
    def open_group_ids(self) -> list[str]:
        return sorted(self._open)

    # ----------------------------------------------------------------- writing
    def persist(
        self,
        engine: Engine,
        event: Event,
        decision: Decision,
        *,
        alerts: Sequence[EventRecord] = (),
        filled_before: OrderView | None = None,
    ) -> None:
        """Write everything ``event`` changed (one transaction)."""
        batch = _Batch()
        for command in decision.commands:
            if isinstance(command, PlaceOrder):
                ids = self._group_orders.setdefault(command.group_id, [])
                if command.client_order_id not in ids:
                    ids.append(command.client_order_id)
        touched = set(self._open) | set(_group_ids(decision))
        if isinstance(event, _ORDER_EVENTS):
            order = engine.order(event.client_order_id)
            if order is not None:
                touched.add(order.group_id)
        reasons = {event.client_order_id: event.reason} if isinstance(event, OrderRejected) else {}
        for group_id in sorted(touched):
            self._group(engine, group_id, batch, reasons)
        if isinstance(event, OrderFilled) and event.trade_id:
            after = engine.order(event.client_order_id)
            before_qty = filled_before.filled_quantity if filled_before is not None else None
            if after is not None and (before_qty is None or after.filled_quantity > before_qty):
                batch.fills.append(
                    FillRecord(
                        trade_id=event.trade_id,
                        client_order_id=event.client_order_id,
                        quantity=event.quantity,
                        price=event.price,
                        fee=event.fee,
                        fee_asset=event.fee_asset,
                        at_ms=event.at_ms,
                    )
                )
        updates = self._signals(event, decision, batch)
        if decision.outcomes or any(a.category.value == "queue" for a in decision.audit):
            self._queue(engine, decision, batch)
        batch.events.extend(event_record(audit) for audit in decision.audit)
        batch.events.extend(alerts)
        # one transaction; an outcome of a signal the store never saw (fed by a runner, not
        # the webhook) changes nothing
        self.store.save_batch(batch.freeze(decision, updates))
        log_audit(batch.events)

    def write_alerts(self, alerts: Iterable[EventRecord]) -> None:
        events = list(alerts)
        if events:
            self.store.save_batch(StoreBatch(events=events))
            log_audit(events)

    def _group(self, engine: Engine, group_id: str, batch: _Batch, reasons: dict[str, str]) -> None:
        view = engine.group(group_id)
        if view is None:
            self._open.discard(group_id)
            return
        if view.status in FINAL_GROUP_STATES:
            self._open.discard(group_id)
        else:
            self._open.add(group_id)
        changed = self._groups.get(group_id) != view
        if changed:
            group, pyramids, legs = group_records(view)
            batch.groups.append(group)
            batch.pyramids.extend(pyramids)
            batch.legs.extend(legs)
            self._groups[group_id] = view
        for cid in self._group_orders.get(group_id, []):
            order = engine.order(cid)
            if order is not None and self._orders.get(cid) != order:
                batch.orders.append(order_record(order, reason=reasons.get(cid)))
                self._orders[cid] = order

    def _signals(self, event: Event, decision: Decision, batch: _Batch) -> list[OutcomeUpdate]:
        updates: list[OutcomeUpdate] = []
        received = event.signal if isinstance(event, SignalReceived) else None
        for outcome in decision.outcomes:
            if received is not None and outcome.signal_id == received.signal_id:
                batch.signals.append(
                    signal_record(
                        received,
                        outcome=outcome.outcome,
                        reason=outcome.reason,
                        group_id=outcome.group_id,
                        queue_id=outcome.queue_id,
                    )
                )
            else:
                updates.append(
                    OutcomeUpdate(
                        outcome.signal_id,
                        outcome.outcome,
                        outcome.reason,
                        outcome.group_id,
                        outcome.queue_id,
                    )
                )
        return updates

    def _queue(self, engine: Engine, decision: Decision, batch: _Batch) -> None:
        promoted = {
            outcome.signal_id
            for outcome in decision.outcomes
            if outcome.outcome in _PROMOTED_OUTCOMES
        }
        for user_id in engine.users():
            current = {view.queue_id: view for view in engine.queue_terms(user_id)}
            before = self._queues.get(user_id, {})
            for queue_id, view in current.items():
                if _queue_changed(before.get(queue_id), view):
                    batch.queued.append(queued_record(view, status="waiting"))
            for queue_id, view in before.items():
                if queue_id not in current:
                    status = "promoted" if view.signal_id in promoted else "removed"
                    batch.queued.append(queued_record(view, status=status))
            self._queues[user_id] = current


def _queue_changed(before: QueueEntryTerms | None, after: QueueEntryTerms) -> bool:
    if before is None:
        return True
    # rank and loss % move with every price tick; the stored row keeps the signal's terms
    return (
        before.signal_id != after.signal_id
        or before.replacement_count != after.replacement_count
        or before.reason != after.reason
        or before.entry_price != after.entry_price
        or before.order_size != after.order_size
    )


def _group_ids(decision: Decision) -> Iterable[str]:
    for command in decision.commands:
        group_id = getattr(command, "group_id", None)
        if isinstance(group_id, str):
            yield group_id
    for outcome in decision.outcomes:
        if outcome.group_id:
            yield outcome.group_id
    for audit in decision.audit:
        value = audit.data.get("group_id")
        if isinstance(value, str):
            yield value
    for action in decision.risk_actions:
        yield action.loser_group_id
        for winner in action.winners:
            yield winner.group_id
