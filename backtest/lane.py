"""One user's engine in a replay: it feeds the engine events, carries out its commands on the
simulator at once, records what happened, and knows what the fast replay must not skip.

Each user gets an :class:`~engine.core.Engine` of their own (users never share pool, queue or
risk state, and each engine's risk-cycle schedule then depends on nothing but the event times:
see :mod:`backtest.schedule`). The simulator is shared; accounts are per user.

At each moment ``t`` a lane does exactly what the step replay does (:meth:`Lane.moment`):
a ``PriceMoved`` for each of its markets with a tick at ``t`` (sorted), the simulator's fills
at ``t``, the signals arriving at ``t`` (file order), then ``TimePassed(t)``. Before a moment
the fast replay brings the engine's marks up to the last tick before ``t``
(:meth:`Lane.catch_up`) and puts its last risk cycle where the step replay's is
(:meth:`Lane.sync_cycles`); those events must not change anything, and the lane raises
:class:`ReplayInvariantError` if they ever do, rather than let two modes drift apart.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from backtest.execution import carry_out
from backtest.recorder import (
    FillEntry,
    OrderEntry,
    OutcomeEntry,
    Recording,
    RejectionEntry,
    TradeSummary,
)
from backtest.risk_scan import ScanGroup, ScanMarket, first_possible_offset
from backtest.schedule import EventTimes, cycle_at_or_after, cycle_at_or_before
from backtest.watch import GroupWatch, group_watch, to_ticks_above, to_ticks_below
from engine.config import UserConfig
from engine.core import Engine
from engine.domain import (
    CancelOrder,
    Command,
    MarketRules,
    PlaceOrder,
    PositionSide,
    Signal,
    SignalOutcome,
)
from engine.domain.events import (
    Event,
    MarketRulesLoaded,
    OrderFilled,
    OrderRejected,
    PriceMoved,
    SignalReceived,
    TimePassed,
    UserConfigured,
)
from engine.ports import SyncExchangePort
from engine.service.execution import events_from_report
from engine.views import QueueEntryView
from reports.records import QueueEventRecord
from simulator.models import SimEvent

__all__ = ["Lane", "MarketInfo", "TimedSignal", "ReplayInvariantError", "Pair"]

Pair = tuple[str, str]  # (exchange, symbol)
_OPEN = ("live", "partially_filled", "active", "closing")
_ENTRY_PURPOSES = ("entry", "dca")
# outcomes that leave every group as it was (a rejected pyramid whose order the exchange
# refused is re-issued after an OrderRejected, which marks its group by itself)
_UNCHANGED = ("queued", "replaced", "duplicate", "rejected", "exit_noop")
# outcomes that add or remove no queue entry unless they name one already queued
_QUEUE_KEPT = ("replaced", "duplicate", "rejected", "exit_noop")


class ReplayInvariantError(RuntimeError):
    """The fast replay skipped past something the engine would have acted on."""


@dataclass(frozen=True, slots=True)
class MarketInfo:
    exchange: str
    symbol: str
    tick: Decimal
    rules: MarketRules


@dataclass(frozen=True, slots=True)
class TimedSignal:
    at_ms: int
    signal: Signal
    line: int


@dataclass(frozen=True, slots=True)
class _OrderMeta:
    group_id: str
    pyramid_index: int | None
    leg_index: int | None
    purpose: str
    side: str
    exchange: str
    symbol: str


class Lane:
    """One user's engine, its exchange ports and its bookkeeping."""

    def __init__(
        self,
        *,
        user_id: str,
        config: UserConfig,
        namespace: str,
        ports: Mapping[str, SyncExchangePort],
        markets: Mapping[Pair, MarketInfo],
        signals: Sequence[TimedSignal],
        event_times: EventTimes,
        recording: Recording,
        check_invariants: bool = False,
        skip_idle: bool = False,
    ) -> None:
        self.user_id = user_id
        self.config = config
        self.engine = Engine(namespace=namespace)
        self.ports = dict(ports)
        self.markets = dict(markets)
        self.signals = list(signals)
        self.pairs: list[Pair] = sorted(
            {(s.signal.exchange, s.signal.symbol) for s in self.signals} & set(self.markets)
        )
        self.recording = recording
        self.check_invariants = check_invariants
        self.skip_idle = skip_idle
        self._handled = 0  # engine events handled (a moment knows whether it handed any)
        self._event_times = event_times
        interval_ms = config.risk_config.evaluate_interval_seconds * 1000
        self._interval_ms = interval_ms
        self.cycles: npt.NDArray[np.int64] = event_times.cycle_times(interval_ms)
        self.last_cycle_ms: int | None = None
        self.marks: dict[Pair, int] = {}  # tick counts last given to the engine
        self.watches: dict[str, GroupWatch] = {}
        self.bands: dict[Pair, tuple[int | None, int | None]] = {}
        self.scan_markets: dict[Pair, ScanMarket] = {}
        # (groups, scanned after, scanned before, first hit): valid while the groups hold
        self._scan_cache: tuple[tuple[ScanGroup, ...], int, int, int | None] | None = None
        self.realised_closed = Decimal(0)
        self._dirty: set[str] = set()
        self._meta: dict[str, _OrderMeta] = {}
        self._seen_trades: set[tuple[str, str]] = set()
        self._retries: list[int] = []
        self._next_signal = 0
        self._pair_set = set(self.pairs)
        self._finished: set[str] = set()
        self._new_outcomes: list[SignalOutcome] = []
        self._queue: dict[str, QueueEntryView] = {}

    # ------------------------------------------------------------------ time line
    def start(self, at_ms: int) -> None:
        """Register the user and the market rules of every exchange it trades on."""
        self._deliver(UserConfigured(self.user_id, self.config, at_ms), at_ms)
        for exchange in sorted(self.ports):
            rules = tuple(self.ports[exchange].load_markets())
            self._deliver(MarketRulesLoaded(exchange, rules, at_ms), at_ms)
        self.last_cycle_ms = at_ms
        self._skip_signals_before(at_ms)

    def _skip_signals_before(self, at_ms: int) -> None:
        while (
            self._next_signal < len(self.signals) and self.signals[self._next_signal].at_ms < at_ms
        ):
            self._next_signal += 1

    def catch_up(self, moment: int, prices: Mapping[Pair, int]) -> None:
        """Give the engine the last price before the coming moment of every market whose
        mark it has not seen yet (at the engine's current time: nothing may happen)."""
        now = self.engine.now_ms
        active = self._active_pairs(moment)
        for pair in self.pairs if active is None else sorted(active):
            ticks = prices.get(pair)
            if ticks is None or self.marks.get(pair) == ticks:
                continue
            self.marks[pair] = ticks
            price = self.markets[pair].tick * ticks
            self._deliver(PriceMoved(pair[0], pair[1], price, now), now, quiet=True)

    def sync_cycles(self, moment: int) -> None:
        """Run the risk cycle the step replay ran last before ``moment`` (a no-op cycle)."""
        cycle = cycle_at_or_before(self.cycles, moment)
        if cycle is None or cycle >= moment or self.last_cycle_ms is None:
            return
        if cycle > self.last_cycle_ms:
            # any event runs the due cycle; a known mark again is the cheapest one (no
            # trigger can fire at a price the engine has already seen)
            pair = next((p for p in self.pairs if p in self.marks), None)
            event: Event = TimePassed(cycle)
            if pair is not None:
                price = self.markets[pair].tick * self.marks[pair]
                event = PriceMoved(pair[0], pair[1], price, cycle)
            self._deliver(event, cycle, quiet=True)
            self.last_cycle_ms = cycle

    def moment(
        self,
        at_ms: int,
        tick_prices: Sequence[tuple[Pair, int]],
        sim_events: Sequence[SimEvent],
    ) -> None:
        """Everything the step replay does at ``at_ms`` (see the module docstring).

        With ``skip_idle`` (the fast replay) two kinds of events that cannot change anything
        are left out: prices of markets the engine has no group, queued entry or signal on
        at this moment (nothing reads those marks; they are caught up before they are), and
        ``TimePassed`` when another event already ran the due risk cycle and no retry or
        closing group is waiting for time to pass. The first price of a risk-cycle moment is
        always given: the cycle runs on it, before the other prices of that moment."""
        active = self._active_pairs(at_ms)
        delivered = self._handled
        cycle_now = cycle_at_or_before(self.cycles, at_ms) == at_ms
        first = True
        for pair, ticks in tick_prices:
            if pair not in self._pair_set:
                continue
            # the first event of a cycle moment runs the risk cycle: never skip that one
            keep = first and cycle_now
            first = False
            if active is not None and pair not in active and not keep:
                continue
            self.marks[pair] = ticks
            price = self.markets[pair].tick * ticks
            self._touch_triggered(pair, price)
            self._deliver(PriceMoved(pair[0], pair[1], price, at_ms), at_ms)
        for sim_event in sim_events:
            self._sim_event(sim_event, at_ms)
        while (
            self._next_signal < len(self.signals) and self.signals[self._next_signal].at_ms == at_ms
        ):
            item = self.signals[self._next_signal]
            self._next_signal += 1
            self._deliver(SignalReceived(item.signal, at_ms), at_ms, line=item.line)
        waiting = [w.group_id for w in self.watches.values() if not w.settled]
        self._dirty.update(waiting)
        retry_due = bool(self._retries) and self._retries[0] <= at_ms
        if active is None or waiting or retry_due or self._handled == delivered:
            self._deliver(TimePassed(at_ms), at_ms)
        if cycle_now:
            self.last_cycle_ms = at_ms
        self._skip_signals_before(at_ms + 1)
        if self.check_invariants:
            status = self.engine.risk_status(self.user_id)
            assert status is not None
            if status.last_run_at_ms != self.last_cycle_ms:
                raise ReplayInvariantError(
                    f"{self.user_id}: engine's last risk cycle {status.last_run_at_ms} is not "
                    f"the schedule's {self.last_cycle_ms}"
                )

    def _active_pairs(self, at_ms: int) -> set[Pair] | None:
        """Markets whose marks the engine may read at ``at_ms`` (``None``: all of them, in
        step mode): those with an open group, a queued entry or a signal arriving now."""
        if not self.skip_idle:
            return None
        active = {(w.exchange, w.symbol) for w in self.watches.values()}
        active.update((entry.exchange, entry.symbol) for entry in self._queue.values())
        index = self._next_signal
        while index < len(self.signals) and self.signals[index].at_ms <= at_ms:
            item = self.signals[index]
            active.add((item.signal.exchange, item.signal.symbol))
            index += 1
        return active & self._pair_set

    # ------------------------------------------------------------------ engine I/O
    def _deliver(
        self, event: Event, at_ms: int, *, quiet: bool = False, line: int | None = None
    ) -> None:
        pending: deque[Event] = deque([event])
        while pending:
            current = pending.popleft()
            if isinstance(current, OrderFilled):
                self._on_fill(current)
            elif isinstance(current, OrderRejected):
                self._on_rejected(current)
            decision = self.engine.handle(current)
            self._handled += 1
            if quiet and (decision.commands or decision.outcomes or decision.risk_actions):
                raise ReplayInvariantError(
                    f"{self.user_id}: {type(current).__name__} at {current.at_ms} changed "
                    f"decisions during a catch-up (commands {decision.commands}, outcomes "
                    f"{decision.outcomes}); run with --step and report this"
                )
            for outcome in decision.outcomes:
                self.recording.outcomes.append(OutcomeEntry(self.user_id, outcome, line))
                self._new_outcomes.append(outcome)
                if outcome.outcome in _UNCHANGED:
                    continue
                if outcome.group_id is not None:
                    self._dirty.add(outcome.group_id)
                signal = self.recording.signals.get((self.user_id, outcome.signal_id))
                if signal is not None:  # an exit may close a group without any order
                    self._touch_market((signal.exchange, signal.symbol))
            for action in decision.risk_actions:
                self.recording.risk_actions.append(action)
                self._dirty.add(action.loser_group_id)
                self._dirty.update(winner.group_id for winner in action.winners)
            for command in decision.commands:
                pending.extend(self._carry_out(command, at_ms))

    def _touch_market(self, pair: Pair) -> None:
        self._dirty.update(
            w.group_id for w in self.watches.values() if (w.exchange, w.symbol) == pair
        )

    def _touch_triggered(self, pair: Pair, price: Decimal) -> None:
        """Groups whose price trigger this mark reaches may change without sending an
        order (a close whose remainder is dust): re-read them after the moment."""
        for watch in self.watches.values():
            if (watch.exchange, watch.symbol) != pair:
                continue
            low, high = watch.triggers.low, watch.triggers.high
            if (low is not None and price <= low) or (high is not None and price >= high):
                self._dirty.add(watch.group_id)

    def _carry_out(self, command: Command, at_ms: int) -> list[Event]:
        view = None
        if isinstance(command, PlaceOrder):
            view = self.engine.order(command.client_order_id)
            self._meta[command.client_order_id] = _OrderMeta(
                group_id=command.group_id,
                pyramid_index=None if view is None else view.pyramid_index,
                leg_index=None if view is None else view.leg_index,
                purpose=command.purpose.value,
                side=command.side.value,
                exchange=command.exchange,
                symbol=command.symbol,
            )
            self._dirty.add(command.group_id)
            self.recording.orders.append(
                OrderEntry(
                    at_ms=at_ms,
                    user_id=self.user_id,
                    client_order_id=command.client_order_id,
                    exchange=command.exchange,
                    symbol=command.symbol,
                    side=command.side.value,
                    type=command.type.value,
                    quantity=command.quantity,
                    price=command.price,
                    purpose=command.purpose.value,
                    group_id=command.group_id,
                )
            )
            if (self.user_id, command.group_id) not in self.recording.trades:
                self.recording.trades[(self.user_id, command.group_id)] = TradeSummary(
                    user_id=self.user_id,
                    group_id=command.group_id,
                    exchange=command.exchange,
                    symbol=command.symbol,
                    side="",
                    timeframe=1,
                )
        elif isinstance(command, CancelOrder):
            view = self.engine.order(command.client_order_id)
            meta = self._meta.get(command.client_order_id)
            if meta is not None:
                self._dirty.add(meta.group_id)
        return carry_out(command, self.ports, view, at_ms)

    def _sim_event(self, sim_event: SimEvent, at_ms: int) -> None:
        cid = sim_event.client_order_id
        trade = sim_event.trade
        if sim_event.kind == "fill" and trade is not None:
            if (cid, trade.trade_id) in self._seen_trades:
                return
            event: Event = OrderFilled(
                cid, trade.quantity, trade.price, trade.fee, trade.fee_asset, at_ms, trade.trade_id
            )
            self._deliver(event, at_ms)
            return
        port = self.ports.get(sim_event.exchange)
        if port is None:
            return
        report = port.fetch_order(sim_event.symbol, cid)
        if report is None:
            return
        for follow in events_from_report(report, self.engine.order(cid), at_ms):
            self._deliver(follow, at_ms)

    def _on_fill(self, event: OrderFilled) -> None:
        key = (event.client_order_id, event.trade_id)
        if key in self._seen_trades:
            return
        self._seen_trades.add(key)
        meta = self._meta.get(event.client_order_id)
        if meta is None:
            return
        self._dirty.add(meta.group_id)
        rules = self.markets[(meta.exchange, meta.symbol)].rules
        asset = event.fee_asset.upper()
        if asset in ("", rules.quote.upper()):
            fee_quote = event.fee
        elif asset == rules.base.upper():
            fee_quote = event.fee * event.price
        else:
            fee_quote = Decimal(0)
        fill = FillEntry(
            at_ms=event.at_ms,
            user_id=self.user_id,
            exchange=meta.exchange,
            symbol=meta.symbol,
            group_id=meta.group_id,
            pyramid_index=meta.pyramid_index,
            leg_index=meta.leg_index,
            purpose=meta.purpose,
            side=meta.side,
            price=event.price,
            quantity=event.quantity,
            fee=event.fee,
            fee_asset=event.fee_asset,
            fee_quote=fee_quote,
            client_order_id=event.client_order_id,
            trade_id=event.trade_id,
        )
        self.recording.fills.append(fill)
        summary = self.recording.trades.get((self.user_id, meta.group_id))
        if summary is not None:
            summary.add_fill(fill, meta.purpose in _ENTRY_PURPOSES)

    def _on_rejected(self, event: OrderRejected) -> None:
        self.recording.rejections.append(
            RejectionEntry(
                event.at_ms, self.user_id, event.client_order_id, event.reason, event.message
            )
        )
        heapq.heappush(self._retries, event.at_ms + self._interval_ms)
        meta = self._meta.get(event.client_order_id)
        if meta is not None:
            self._dirty.add(meta.group_id)

    def _queue_events(self) -> None:
        """Queue history from this moment's outcomes and the engine's queue view."""
        outcomes, self._new_outcomes = self._new_outcomes, []
        if not any(
            o.outcome not in _QUEUE_KEPT or (o.outcome != "replaced" and o.queue_id in self._queue)
            for o in outcomes
        ):
            # the queue's entries are the same (a replacement keeps its entry)
            for outcome in outcomes:
                if outcome.outcome == "replaced" and outcome.queue_id in self._queue:
                    signal = self.recording.signals.get((self.user_id, outcome.signal_id))
                    self._record_queue(
                        outcome.at_ms,
                        "replaced",
                        outcome.signal_id,
                        signal,
                        outcome.reason,
                        len(self._queue),
                        None,
                    )
            return
        current = {entry.queue_id: entry for entry in self.engine.queue(self.user_id)}
        known = dict(self._queue)
        known.update(current)
        length = len(self._queue)
        left: set[str] = set()
        for outcome in outcomes:
            queue_id = outcome.queue_id
            if queue_id is None:
                continue
            if outcome.outcome == "queued":
                length += 1
                action = "queued"
            elif outcome.outcome == "replaced":
                action = "replaced"
            elif queue_id in self._queue or queue_id in current or queue_id in known:
                if queue_id in left:
                    continue
                left.add(queue_id)
                length -= 1
                action = "promoted" if outcome.outcome in ("opened", "pyramid") else "removed"
            else:
                continue
            signal = self.recording.signals.get((self.user_id, outcome.signal_id))
            self._record_queue(
                outcome.at_ms,
                action,
                outcome.signal_id,
                signal,
                outcome.reason,
                length,
                known.get(queue_id),
            )
        for queue_id, entry in self._queue.items():
            if queue_id not in current and queue_id not in left:
                length -= 1
                self._record_queue(
                    self.engine.now_ms, "removed", entry.signal_id, None, "exit", length, entry
                )
        self._queue = current

    def _record_queue(
        self,
        at_ms: int,
        action: str,
        signal_id: str,
        signal: Signal | None,
        reason: str | None,
        length: int,
        entry: QueueEntryView | None,
    ) -> None:
        if signal is not None:
            symbol, side, timeframe, exchange = (
                signal.symbol,
                "" if signal.side is None else signal.side.value,
                signal.timeframe,
                signal.exchange,
            )
        elif entry is not None:
            symbol, side, timeframe, exchange = (
                entry.symbol,
                entry.side,
                entry.timeframe,
                entry.exchange,
            )
        else:
            return
        self.recording.queue_events.append(
            QueueEventRecord(
                at_ms=at_ms,
                action=action,
                signal_id=signal_id,
                symbol=symbol,
                side=side,
                timeframe=timeframe,
                exchange=exchange,
                reason=reason,
                queue_length=max(length, 0),
            )
        )

    # ------------------------------------------------------------------ what to watch
    def refresh(self) -> None:
        """Re-read the views of the groups touched since the last refresh and recompute the
        bands and the risk state."""
        self._queue_events()
        for group_id in sorted(self._dirty):
            if group_id in self._finished:
                continue
            view = self.engine.group(group_id)
            if view is None:
                continue
            summary = self.recording.trades.get((self.user_id, group_id))
            if summary is not None:
                summary.side = view.side
                summary.timeframe = view.timeframe
                summary.status = view.status
                summary.close_reason = view.close_reason
                summary.closed_at_ms = view.closed_at_ms
                summary.realised_usd = view.realised_usd
                summary.open_quantity = view.open_quantity
                summary.pyramids = view.pyramid_count
            if view.status in _OPEN:
                rules = self.markets[(view.exchange, view.symbol)].rules
                self.watches[group_id] = group_watch(view, self.config, rules)
            else:
                self.watches.pop(group_id, None)
                self._finished.add(group_id)
                self.realised_closed += view.realised_usd
        self._dirty.clear()
        self._update_bands()

    def _update_bands(self) -> None:
        """Each market's band from the open groups' price triggers (exact engine levels)."""
        lows: dict[Pair, int] = {}
        highs: dict[Pair, int] = {}
        for watch in self.watches.values():
            pair = (watch.exchange, watch.symbol)
            tick = self.markets[pair].tick
            if watch.triggers.low is not None:
                ticks = to_ticks_below(watch.triggers.low, tick)
                lows[pair] = max(lows.get(pair, ticks), ticks)
            if watch.triggers.high is not None:
                ticks = to_ticks_above(watch.triggers.high, tick)
                highs[pair] = min(highs.get(pair, ticks), ticks)
        self.bands = {pair: (lows.get(pair), highs.get(pair)) for pair in set(lows) | set(highs)}

    def _scan_groups(self, now: int) -> list[ScanGroup]:
        """The open groups in the risk scan's terms (losers: expired timer, old enough)."""
        risk = self.config.risk_config
        groups = []
        for watch in self.watches.values():
            if watch.open_quantity <= 0 or not watch.settled or watch.risk_blocked:
                continue
            if watch.average is None:
                continue
            expired = (
                watch.timer_expires_at_ms is not None
                and watch.timer_expires_at_ms <= now
                and watch.old_enough_at_ms <= now
            )
            groups.append(
                ScanGroup(
                    market=self.scan_markets[(watch.exchange, watch.symbol)],
                    long=watch.side is PositionSide.LONG,
                    average=float(watch.average),
                    closable=float(watch.closable),
                    fee=float(watch.fee_rate),
                    notional_from=None
                    if watch.notional_from is None
                    else float(watch.notional_from),
                    loser_price=float(watch.loser_price)
                    if expired and watch.loser_price is not None
                    else None,
                    smallest_quantity=float(watch.smallest_quantity),
                    min_close_notional=float(risk.min_close_notional),
                )
            )
        return groups

    def risk_moment(self, now: int, limit: int) -> int | None:
        """The first risk-cycle time after ``now`` and before ``limit`` at which an offset
        might happen (:mod:`backtest.risk_scan`); nothing changes in between."""
        groups = tuple(self._scan_groups(now))
        cached = self._scan_cache
        if cached is not None and cached[0] == groups and cached[1] <= now:
            _, _, until, found = cached
            if found is not None and found > now:
                return found if found < limit else None
            if found is None and until >= limit:
                return None
            if found is None:
                found = first_possible_offset(groups, self.cycles, max(now, until - 1), limit)
                self._scan_cache = (groups, cached[1], limit, found)
                return found
        found = first_possible_offset(groups, self.cycles, now, limit)
        self._scan_cache = (groups, now, limit, found)
        return found

    def next_stop(self, now: int) -> tuple[int | None, str]:
        """The lane's next moment that is neither a price crossing nor a possible offset, and
        why: a signal, a retry after a rejection, a timer or age threshold, every event time
        while a group is closing (``unsettled``)."""
        best: int | None = None
        why = ""

        def consider(moment: int | None, reason: str) -> None:
            nonlocal best, why
            if moment is not None and (best is None or moment < best):
                best, why = moment, reason

        if self._next_signal < len(self.signals):
            consider(self.signals[self._next_signal].at_ms, "signal")
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)
        if self._retries:
            consider(self._event_times.at_or_after(self._retries[0]), "retry")
        for watch in self.watches.values():
            if watch.timer_expires_at_ms is not None and watch.timer_expires_at_ms > now:
                consider(cycle_at_or_after(self.cycles, watch.timer_expires_at_ms), "timer")
            if watch.old_enough_at_ms > now:
                consider(cycle_at_or_after(self.cycles, watch.old_enough_at_ms), "age")
        if any(not watch.settled for watch in self.watches.values()):
            consider(self._event_times.after(now), "unsettled")
        return best, why

    # ------------------------------------------------------------------ figures
    @property
    def realised_total(self) -> Decimal:
        return self.realised_closed + sum(
            (watch.realised_usd for watch in self.watches.values()), Decimal(0)
        )

    @property
    def exposure(self) -> Decimal:
        return sum(
            (w.open_cost + w.resting_entry_notional for w in self.watches.values()), Decimal(0)
        )

    @property
    def open_groups(self) -> int:
        return len(self.watches)
