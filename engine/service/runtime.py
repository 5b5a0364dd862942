"""The async runtime: the only place the engine is driven in a service (SPEC §10, §11).

``submit(event)`` runs under one asyncio lock (and, when several processes share the
database, a database lock): the engine handles the event; the decision is written to the
store (signal outcomes, audit, risk actions, groups, pyramids, legs, orders, fills) and the
engine snapshot is saved **before** any command goes to an exchange; then each command is
carried out through the exchange port and what the exchange answers (accepted, fills,
cancelled, rejected) is handled the same way, until nothing is left.

Snapshots: store rows are written after every event; the engine snapshot (what a restart
restores) is written before any command the last snapshot does not contain goes out, and at
the end of a run that handled something only the service knows (a signal, a manual action, a
config). After runs that only learned what the exchange or the clock can report again
(fills, prices, ticks) it may lag up to ``snapshot_interval_seconds``; a restart re-learns
those by reconciling. With several processes every run ends with a snapshot. In one process
the end-of-run snapshot of ``submit`` is a group commit: the requests that ran meanwhile share
one write, and each is answered only once a stored snapshot holds it.

Synchronisation (``sync``): pending commands are retried (looking the order up by client id
first), every non-terminal order is compared with the exchange, prices of symbols with open
groups or queued signals are fed as ``PriceMoved``, and ``TimePassed`` runs timers, the risk
cycle and the daily reset. ``start`` restores the latest snapshot, registers users, loads
markets and reconciles orders the same way, so fills that happened while the service was down
are booked and nothing that exists is sent again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from engine.config import ConfigError, UserConfig, parse_user_config, user_config_to_dict
from engine.core import Engine
from engine.domain import (
    CancelOrder,
    Category,
    Command,
    ConnectionState,
    Decision,
    MarketRules,
    OrderPurpose,
    OrderSide,
    OrderType,
    PlaceOrder,
    RefreshMarketRules,
    RiskAction,
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
    PriceMoved,
    RiskRunRequested,
    TimePassed,
    UserConfigured,
)
from engine.ports import Clock, ExchangePort, OrderReport
from engine.service.accounts import UserAccounts, close_port, split_account
from engine.service.coordination import LocalStateLock, StateLock
from engine.service.execution import ExecResult, Executor, events_from_report
from engine.service.pending import PendingCommands
from engine.service.persistence import EnginePersister
from engine.service.predict import MomentumPredictor
from engine.service.settings import ServiceSettings
from engine.store import EventRecord, Store, UserRecord
from engine.views import OrderView

__all__ = ["SNAPSHOT_FORMAT", "MAX_STEPS_PER_SUBMIT", "Runtime"]

SNAPSHOT_FORMAT = "qtrade.service/1"
MAX_STEPS_PER_SUBMIT = 10_000
_LIVE = ("pending", "open", "partially_filled")
# Events whose effect the exchange and the clock can tell a restarted service again: after
# them the snapshot may wait (at most snapshot_interval_seconds); anything else (a signal, a
# manual action, a config) is saved before the run returns.
_REDERIVABLE = (
    OrderAccepted,
    OrderFilled,
    OrderCancelled,
    OrderRejected,
    PriceMoved,
    TimePassed,
    MarketRulesLoaded,
    ExchangeStateChanged,
)


class Runtime:
    """Drives one :class:`Engine` against a store and exchange ports."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        exchanges: Mapping[str, ExchangePort],
        clock: Clock,
        settings: ServiceSettings,
        *,
        state_lock: StateLock | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        accounts: UserAccounts | None = None,
    ) -> None:
        self._engine = engine
        self.store = store
        self.clock = clock
        self.settings = settings
        self._rng = rng or random.Random(0)
        self._monotonic = monotonic
        self._state_lock: StateLock = state_lock or LocalStateLock()
        self._alock = asyncio.Lock()
        self.executor = Executor(
            exchanges,
            clock,
            users_of=self._users_of,
            rate_limit_max_wait_seconds=settings.rate_limit_max_wait_seconds,
            sleep=sleep,
            rng=self._rng,
            accounts=accounts,
        )
        self.pending = PendingCommands(
            settings.retry_base_seconds, settings.retry_max_seconds, self._rng
        )
        self._refresh_pending: set[str] = set()
        self._persister = EnginePersister(store)
        self._persister.adopt(engine)
        self._version = 0
        self._configs: dict[str, int] = {}  # user id -> updated_at_ms of the config applied
        self._marks: dict[tuple[str, str], Decimal] = {}
        self.predictor = MomentumPredictor()
        self._dirty = False  # state changed since the last snapshot
        self._unsaved_commands = False  # commands decided since the last snapshot
        self._must_save = False  # a change the exchange cannot tell us again (a signal...)
        self._last_snapshot = monotonic()
        self._changes = 0  # events handled so far
        self._saved_changes = 0  # ... of which the last snapshot holds every one
        self._deferred_upto: int | None = None  # set by a run that left its snapshot to submit
        self._must_save_at = 0  # the latest event that must reach a snapshot (a signal...)
        self._claimed_upto = 0  # submits waiting to write a snapshot up to this event
        self._user_records: dict[str, UserRecord] = {}  # one process: read once, kept
        self.started = False

    # ------------------------------------------------------------------ properties
    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def exchanges(self) -> dict[str, ExchangePort]:
        return self.executor.exchanges

    def health(self) -> dict[str, str]:
        """The service's own account on each exchange."""
        return self.executor.health.states()

    def user_account_health(self) -> dict[str, dict[str, int]]:
        """Users' own accounts: per exchange, how many are in each state."""
        return self.executor.health.user_account_states()

    def user_record(self, user_id: str) -> UserRecord | None:
        """The stored user. One process keeps each record it read until the user's config is
        applied here (``configure_user``), users are refreshed (``refresh_users``) or the
        runtime starts; with several processes every call reads the store (another process
        may have changed the user). Unknown users are never cached."""
        if self._state_lock.shared:
            return self.store.get_user(user_id)
        record = self._user_records.get(user_id)
        if record is None:
            record = self.store.get_user(user_id)
            if record is not None:
                self._user_records[user_id] = record
        return record

    def forget_users(self) -> None:
        """Drop every cached user record (the next read goes to the store)."""
        self._user_records.clear()

    def _users_of(self, exchange: str) -> list[str]:
        users = []
        for user_id in self._engine.users():
            record = self.user_record(user_id)
            config = record.config if record is not None else {}
            listed = config.get("configured_exchanges") or []
            if not listed or exchange in [str(name).lower() for name in listed]:
                users.append(user_id)
        return users

    # ------------------------------------------------------------------ locking
    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Serialise a state change: the asyncio lock, then the cross-process lock under
        which a newer snapshot written by another process is loaded first."""
        async with self._alock:
            if not self._state_lock.shared:
                yield
                return
            await asyncio.to_thread(self._state_lock.acquire)
            try:
                self._reload_if_stale()
                yield
            finally:
                self._state_lock.release()

    def _reload_if_stale(self) -> None:
        record = self.store.load_snapshot()
        if record is None:
            return
        version = record.data.get("version")
        if isinstance(version, int) and version != self._version:
            self._adopt(record.data)

    def _adopt(self, envelope: dict[str, Any]) -> None:
        if envelope.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(
                f"snapshot.format: expected {SNAPSHOT_FORMAT!r}, got {envelope.get('format')!r}"
                " (unknown_format)"
            )
        self._engine = Engine.restore(envelope["engine"])
        self._version = int(envelope.get("version", 0))
        self.pending.load_json(list(envelope.get("pending", [])), self._monotonic())
        self._refresh_pending = set(envelope.get("refresh", []))
        self._configs = {str(k): int(v) for k, v in dict(envelope.get("configs", {})).items()}
        self._persister.adopt(self._engine)

    def _save_snapshot(self) -> None:
        self._version += 1
        envelope = {
            "format": SNAPSHOT_FORMAT,
            "version": self._version,
            "engine": self._engine.snapshot(),
            "pending": self.pending.to_json(),
            "refresh": sorted(self._refresh_pending),
            "configs": dict(self._configs),
        }
        self.store.save_snapshot(envelope, at_ms=self._now())
        self._saved_changes = self._changes
        self._dirty = self._unsaved_commands = self._must_save = False
        self._last_snapshot = self._monotonic()

    def _snapshot_due(self) -> bool:
        """Whether the end of a run must write the snapshot now (see the module docstring)."""
        if not self._dirty:
            return False
        if self._state_lock.shared:
            return True
        if self._must_save and self._must_save_at > self._claimed_upto:
            return True  # not left to a waiting submit (group commit)
        elapsed = self._monotonic() - self._last_snapshot
        return elapsed >= self.settings.snapshot_interval_seconds

    def flush(self) -> None:
        """Write the snapshot if anything changed since the last one (shutdown, scheduler)."""
        if self._dirty:
            self._save_snapshot()

    def _mark_refresh(self, exchange: str, *, needed: bool) -> None:
        """Remember (or forget) that an exchange's market rules must be reloaded."""
        if needed == (exchange in self._refresh_pending):
            return
        if needed:
            self._refresh_pending.add(exchange)
        else:
            self._refresh_pending.discard(exchange)
        self._dirty = True

    def now_ms(self) -> int:
        """Engine time: the clock, never earlier than the latest time the engine saw."""
        return max(self.clock.now_ms(), self._engine.now_ms)

    def _now(self) -> int:
        return self.now_ms()

    # ------------------------------------------------------------------ the loop
    async def submit(self, event: Event) -> Decision:
        """Handle ``event`` and everything it leads to; returns the combined decision once
        the stored snapshot holds it.

        Group commit (one process): the snapshot a run needs at its end is written after the
        lock is released, the event loop has had one turn and the lock is taken again, so the
        runs that got in meanwhile share one snapshot write instead of each writing the whole
        state; nobody is answered before a snapshot holding their change is stored. Runs of
        only exchange- or clock-derivable events leave a claimed snapshot to its submit. The
        snapshot before orders are sent is never deferred, and with several processes every
        run still ends with its own snapshot."""
        async with self.exclusive():
            decision = await self._run([event], group_commit=True)
            upto, self._deferred_upto = self._deferred_upto, None
        if upto is not None:
            # one turn of the event loop: requests ready to run take the lock first, and the
            # snapshot written next holds their changes too
            await asyncio.sleep(0)
            async with self._alock:
                if self._saved_changes < upto:
                    self._save_snapshot()
        return decision

    async def _run(
        self,
        events: list[Event],
        commands: list[Command] | None = None,
        *,
        group_commit: bool = False,
    ) -> Decision:
        total = Decision()
        todo_events: deque[Event] = deque(events)
        todo_commands: deque[Command] = deque(commands or [])
        steps = 0
        while todo_events or todo_commands:
            steps += 1
            if steps > MAX_STEPS_PER_SUBMIT:
                self._persister.write_alerts(
                    [
                        self._record(
                            Category.ERROR,
                            Severity.CRITICAL,
                            "Runtime stopped a runaway event loop",
                            steps=steps,
                        )
                    ]
                )
                break
            if todo_events:
                event = todo_events.popleft()
                decision = self._handle(event)
                total.extend(decision)
                todo_commands.extend(decision.commands)
                continue
            command = todo_commands.popleft()
            if self._unsaved_commands:
                # every order is in the stored state before the exchange hears of it
                self._save_snapshot()
            todo_events.extend(await self._carry_out(command))
        if self._snapshot_due():
            if group_commit and not self._state_lock.shared:
                self._deferred_upto = self._claimed_upto = self._changes  # submit writes it
            else:
                self._save_snapshot()
        return total

    def _handle(self, event: Event) -> Decision:
        before = (
            self._engine.order(event.client_order_id) if isinstance(event, OrderFilled) else None
        )
        decision = self._engine.handle(event)
        self._changes += 1
        self._persister.persist(self._engine, event, decision, filled_before=before)
        self._dirty = True
        if decision.commands:
            self._unsaved_commands = True
        if not isinstance(event, _REDERIVABLE):
            self._must_save = True
            self._must_save_at = self._changes
        return decision

    async def _carry_out(self, command: Command, *, retry: bool = False) -> list[Event]:
        before = self.pending.changes
        try:
            return await self._send(command, retry=retry)
        finally:
            if self.pending.changes != before:
                self._dirty = True  # the pending set travels in the snapshot

    async def _send(self, command: Command, *, retry: bool) -> list[Event]:
        if isinstance(command, PlaceOrder):
            return await self._place(command, retry=retry)
        if isinstance(command, CancelOrder):
            return await self._cancel(command)
        if isinstance(command, RefreshMarketRules):
            result = await self.executor.load_markets(command.exchange)
            if result.deferred:
                self._mark_refresh(command.exchange, needed=True)
            else:
                self._mark_refresh(command.exchange, needed=False)
            return self._finish(result)
        raise TypeError(f"command: unknown command {type(command).__name__}")

    def _finish(self, result: ExecResult) -> list[Event]:
        self._persister.write_alerts(result.alerts)  # stored and logged
        return result.events

    async def _place(self, command: PlaceOrder, *, retry: bool) -> list[Event]:
        view = self._engine.order(command.client_order_id)
        if view is not None and view.status != "pending":
            self.pending.discard(command)
            return []
        if view is not None and view.cancel_requested:
            # cancelled before it was ever confirmed: only find out whether it exists
            return await self._resolve_unsent(command, view)
        result = await self.executor.place(command, view, lookup_first=retry)
        if result.deferred:
            item = self.pending.defer(command, self._monotonic())
            result.alerts.append(
                self._record(
                    Category.ORDER,
                    Severity.WARNING,
                    "Order kept pending for retry",
                    client_order_id=command.client_order_id,
                    user_id=command.user_id,
                    exchange=command.exchange,
                    symbol=command.symbol,
                    attempts=item.attempts,
                )
            )
        else:
            self.pending.discard(command)
        return self._finish(result)

    async def _resolve_unsent(self, command: PlaceOrder, view: OrderView) -> list[Event]:
        report, result = await self.executor.fetch(
            command.exchange, command.symbol, command.client_order_id
        )
        if report is None and result.error is not None:
            self.pending.defer(command, self._monotonic())
            return self._finish(result)
        self.pending.discard(command)
        events = self._finish(result)
        if report is None:
            events.append(OrderCancelled(command.client_order_id, self._now()))
            return events
        events.extend(events_from_report(report, view, self._now()))
        if report.status.value in _LIVE:
            cancel = CancelOrder(
                command.client_order_id, command.user_id, command.exchange, command.symbol
            )
            events.extend(await self._cancel(cancel))
        return events

    async def _cancel(self, command: CancelOrder) -> list[Event]:
        view = self._engine.order(command.client_order_id)
        if view is not None and view.status not in _LIVE:
            self.pending.discard(command)
            return []
        result = await self.executor.cancel(command, view)
        if result.deferred:
            self.pending.defer(command, self._monotonic())
        else:
            self.pending.discard(command)
        return self._finish(result)

    def _record(
        self, category: Category, severity: Severity, message: str, **data: Any
    ) -> EventRecord:
        clean = {k: v for k, v in data.items() if v is not None}
        return EventRecord(
            category=category,
            severity=severity,
            message=message,
            at_ms=self._now(),
            data=clean,
            user_id=clean.get("user_id"),
            symbol=clean.get("symbol"),
            exchange=clean.get("exchange"),
        )

    # ------------------------------------------------------------------ start / users
    async def start(self) -> None:
        """Restore, register users, load markets, reconcile orders with the exchanges."""
        async with self.exclusive():
            self.forget_users()
            record = self.store.load_snapshot()
            if record is not None and record.data.get("version") != self._version:
                self._adopt(record.data)
            events: list[Event] = []
            events.extend(self._user_events(self.store.list_users()))
            for exchange in sorted(self.exchanges):
                result = await self.executor.load_markets(exchange)
                if result.deferred:
                    self._mark_refresh(exchange, needed=True)
                events.extend(self._finish(result))
            await self._run(events)
            await self._reconcile()
            self.started = True

    def _user_events(self, users: list[UserRecord]) -> list[Event]:
        events: list[Event] = []
        known = set(self._engine.users())
        for user in users:
            if user.user_id in known and self._configs.get(user.user_id) == user.updated_at_ms:
                continue
            try:
                config = parse_user_config(user.config)
            except ConfigError as exc:
                self._persister.write_alerts(
                    [
                        self._record(
                            Category.ERROR,
                            Severity.ERROR,
                            "Stored user config is invalid; user not registered",
                            user_id=user.user_id,
                            errors=[str(error) for error in exc.errors],
                        )
                    ]
                )
                continue
            events.append(UserConfigured(user.user_id, config, self._now()))
            self._configs[user.user_id] = user.updated_at_ms
        return events

    async def configure_user(self, user: UserRecord) -> Decision:
        """Apply a (new or changed) user config without restarting."""
        self._user_records.pop(user.user_id, None)  # at once: the store holds the new one
        async with self.exclusive():
            await self.executor.forget_accounts(user.user_id)
            config = parse_user_config(user.config)
            self._configs[user.user_id] = user.updated_at_ms
            return await self._run([UserConfigured(user.user_id, config, self._now())])

    async def refresh_users(self) -> Decision:
        """Register users created or changed in the store by another process or command."""
        async with self.exclusive():
            self.forget_users()
            await self.executor.forget_accounts(None)
            return await self._run(self._user_events(self.store.list_users()))

    def user_config(self, user_id: str) -> UserConfig | None:
        record = self.user_record(user_id)
        return None if record is None else parse_user_config(record.config)

    @staticmethod
    def config_dict(config: UserConfig) -> dict[str, Any]:
        return user_config_to_dict(config)

    # ------------------------------------------------------------------ sync
    async def refresh(self) -> None:
        """Bring this process's engine up to the newest stored snapshot (shared databases);
        a no-op for a single process, whose engine is always the newest."""
        if not self._state_lock.shared:
            return
        async with self.exclusive():
            pass

    async def sync(self) -> Decision:
        """Retry pending commands, sync orders and prices, then let time pass."""
        async with self.exclusive():
            total = Decision()
            total.extend(await self._reconcile())
            total.extend(await self._sync_prices())
            total.extend(await self._run([TimePassed(self._now())]))
            return total

    async def sync_orders(self) -> Decision:
        async with self.exclusive():
            return await self._reconcile()

    async def sync_prices(self) -> Decision:
        async with self.exclusive():
            return await self._sync_prices()

    async def tick(self) -> Decision:
        async with self.exclusive():
            return await self._run([TimePassed(self._now())])

    async def refresh_markets(self, exchange: str | None = None) -> Decision:
        """Reload market rules of one exchange or all (scheduled refresh)."""
        async with self.exclusive():
            names = [exchange] if exchange else sorted(self.exchanges)
            return await self._run([], [RefreshMarketRules(name) for name in names])

    async def reload_markets(
        self, exchange: str | None = None
    ) -> list[tuple[str, tuple[MarketRules, ...] | None, str | None]]:
        """Reload market rules now (``POST /precision/refresh``): per exchange, the rules
        loaded (``None`` when the exchange could not be reached) and the error."""
        names = [exchange] if exchange else sorted(self.exchanges)
        results: list[tuple[str, tuple[MarketRules, ...] | None, str | None]] = []
        async with self.exclusive():
            for name in names:
                result = await self.executor.load_markets(name)
                rules = None
                for event in result.events:
                    if isinstance(event, MarketRulesLoaded):
                        rules = event.rules
                if result.deferred:
                    self._mark_refresh(name, needed=True)
                else:
                    self._mark_refresh(name, needed=False)
                await self._run(self._finish(result))
                results.append((name, rules, result.error))
        return results

    async def _reconcile(self) -> Decision:
        total = Decision()
        await self._probe_auth(total)
        # 1. commands whose outcome is unknown
        force = self.settings.is_sim
        for item in self.pending.due(self._monotonic(), force=force):
            total.extend(await self._run(await self._carry_out(item.command, retry=True)))
        for exchange in sorted(self._refresh_pending):
            total.extend(await self._run([], [RefreshMarketRules(exchange)]))
        # 2. every non-terminal order against the exchange
        live = [
            view
            for view in self._engine.orders()
            if view.status in _LIVE and view.client_order_id not in self.pending
        ]
        # one round per account and market: a user with keys of their own is asked on theirs
        by_market: dict[tuple[str, str], list[OrderView]] = {}
        for view in live:
            account = self.executor.account_of(view.exchange, view.user_id)
            by_market.setdefault((account, view.symbol), []).append(view)
        for (account, symbol), views in sorted(by_market.items()):
            if self.executor.health.state(account) is ConnectionState.AUTH_FAILED:
                continue
            exchange, owner = split_account(account)
            events = await self._order_events(exchange, symbol, views, owner)
            if events:
                total.extend(await self._run(events))
        return total

    async def _order_events(
        self, exchange: str, symbol: str, views: list[OrderView], owner: str | None
    ) -> list[Event]:
        """Events that bring the engine's orders on one market of one account (``owner``'s
        own, or the service's when None) up to the exchange's view."""
        open_reports: dict[str, OrderReport] | None = None
        if len(views) > 2:
            reports, result = await self.executor.open_orders(exchange, symbol, user_id=owner)
            self._finish(result)
            if reports is not None:
                open_reports = {report.client_order_id: report for report in reports}
        events: list[Event] = []
        for view in views:
            report = None if open_reports is None else open_reports.get(view.client_order_id)
            needs_fetch = (
                report is None
                or report.filled_quantity != view.filled_quantity
                or view.status == "pending"
            )
            if needs_fetch:
                report, result = await self.executor.fetch(
                    exchange, symbol, view.client_order_id, user_id=owner
                )
                self._finish(result)
                if report is None and result.error is not None:
                    continue  # exchange unreachable: next time
            events.extend(await self._reconcile_order(view, report))
        return events

    async def _reconcile_order(self, view: OrderView, report: OrderReport | None) -> list[Event]:
        now = self._now()
        if report is None:
            if view.status == "pending" and not view.cancel_requested:
                # decided and saved, never confirmed by the exchange (a crash before the send,
                # or a lost request the exchange never saw): send it now
                command = _place_command(view)
                return await self._place(command, retry=False)
            self._persister.write_alerts(
                [
                    self._record(
                        Category.ORDER,
                        Severity.WARNING,
                        "Order unknown to the exchange; booked as cancelled",
                        client_order_id=view.client_order_id,
                        user_id=view.user_id,
                        exchange=view.exchange,
                        symbol=view.symbol,
                    )
                ]
            )
            return [OrderCancelled(view.client_order_id, now)]
        events = events_from_report(report, view, now)
        if view.cancel_requested and report.status.value in _LIVE:
            cancel = CancelOrder(view.client_order_id, view.user_id, view.exchange, view.symbol)
            if cancel.client_order_id not in self.pending:
                events.extend(await self._cancel(cancel))
        return events

    async def _probe_auth(self, total: Decision) -> None:
        """An account marked auth_failed is probed once per sync with a signed call; when it
        answers again the engine is told the account is ok."""
        for account in self.executor.health.accounts_in(ConnectionState.AUTH_FAILED):
            if split_account(account)[0] not in self.exchanges:
                continue
            events = self._finish(await self.executor.probe_auth(account))
            if events:
                total.extend(await self._run(events))

    async def _sync_prices(self) -> Decision:
        markets: set[tuple[str, str]] = set()
        for group_id in self._persister.open_group_ids:
            view = self._engine.group(group_id)
            if view is not None:
                markets.add((view.exchange, view.symbol))
        for user_id in self._engine.users():
            for entry in self._engine.queue(user_id):
                markets.add((entry.exchange, entry.symbol))
        events: list[Event] = []
        for exchange, symbol in sorted(markets):
            if exchange not in self.exchanges:
                continue
            price, result = await self.executor.price(exchange, symbol)
            events.extend(self._finish(result))
            if price is None or price <= 0:
                continue
            self.predictor.observe(exchange, symbol, price)
            if self._marks.get((exchange, symbol)) == price:
                continue
            self._marks[(exchange, symbol)] = price
            events.append(PriceMoved(exchange, symbol, price, self._now()))
        return await self._run(events) if events else Decision()

    async def observe_price(self, exchange: str, symbol: str, *, refresh: bool) -> Decimal | None:
        """Make sure the engine knows ``symbol``'s price before a signal needs it; returns the
        price fetched now (``None`` when none was fetched or the exchange gave none). Fetches
        when the runtime has fed no price for the market yet, or always with ``refresh``."""
        if exchange not in self.exchanges:
            return None
        if not refresh and (exchange, symbol) in self._marks:
            return None
        price, result = await self.executor.price(exchange, symbol)
        async with self.exclusive():
            events = self._finish(result)
            if price is not None and price > 0:
                self.predictor.observe(exchange, symbol, price)
                self._marks[(exchange, symbol)] = price
                events.append(PriceMoved(exchange, symbol, price, self._now()))
            if events:
                await self._run(events)
        return price if price is not None and price > 0 else None

    # ------------------------------------------------------------------ dry runs
    def projected_risk_actions(self, user_id: str) -> list[RiskAction]:
        """What a forced risk cycle would do now, computed on a copy of the engine."""
        copy = Engine.restore(self._engine.snapshot())
        decision = copy.handle(RiskRunRequested(self._now(), user_id))
        return list(decision.risk_actions)

    async def market_rules_loaded(self, event: MarketRulesLoaded) -> Decision:
        return await self.submit(event)

    async def close(self) -> None:
        """Write any state not yet in a snapshot, then close the exchange clients."""
        async with self._alock:
            if self._dirty and not self._state_lock.shared:
                self._save_snapshot()
        for port in self.exchanges.values():
            await close_port(port)
        await self.executor.forget_accounts(None)


def _place_command(view: OrderView) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=view.client_order_id,
        user_id=view.user_id,
        exchange=view.exchange,
        symbol=view.symbol,
        side=OrderSide(view.side),
        type=OrderType(view.type),
        quantity=view.quantity,
        price=view.price,
        purpose=OrderPurpose(view.purpose),
        group_id=view.group_id,
        reduce_only=view.purpose not in (OrderPurpose.ENTRY.value, OrderPurpose.DCA.value),
    )
