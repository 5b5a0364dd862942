"""The engine's mutable state: orders, legs, pyramids, groups, queue entries, users.

These classes are internal to the engine core. Outside code reads frozen views
(``engine.views``) and persists the whole state through ``engine.snapshot``; every field here
is plain data (Decimal, int, str, bool, enums, lists, dicts, nested dataclasses) so the
snapshot can be generated from the type hints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from engine.domain import (
    ZERO,
    GroupKey,
    GroupStatus,
    MarketRules,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    Signal,
)

__all__ = [
    "CLOSE_PURPOSES",
    "ENTRY_PURPOSES",
    "Level",
    "GroupSettings",
    "CloseAllocation",
    "OrderState",
    "LegState",
    "PyramidState",
    "CloseTarget",
    "CloseIntent",
    "GroupState",
    "QueueEntry",
    "UserState",
    "Counters",
    "EngineState",
]

ENTRY_PURPOSES = frozenset({OrderPurpose.ENTRY, OrderPurpose.DCA})
CLOSE_PURPOSES = frozenset(
    {
        OrderPurpose.TAKE_PROFIT,
        OrderPurpose.AGGREGATE_TP,
        OrderPurpose.EXIT,
        OrderPurpose.STOP,
        OrderPurpose.RISK,
        OrderPurpose.REDUCE,
    }
)
_LIVE = frozenset({OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


@dataclass(frozen=True, slots=True)
class Level:
    """One grid level as the group opened with it (a copy of the config's ``GridLevel``)."""

    gap_percent: Decimal
    weight_percent: Decimal
    tp_percent: Decimal


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """The part of ``dca_grid_config`` a group keeps from the moment it opened (SPEC §3:
    open groups keep the grid they were opened with)."""

    levels_by_pyramid: tuple[tuple[Level, ...], ...]  # index = pyramid index
    max_pyramids: int
    entry_order_type: str
    tp_mode: str
    tp_aggregate_percent: Decimal
    tp_order_type: str
    stop_loss_percent: Decimal | None

    def levels_for(self, pyramid_index: int) -> tuple[Level, ...]:
        return self.levels_by_pyramid[pyramid_index]

    @property
    def per_leg_tp(self) -> bool:
        return self.tp_mode in ("per_leg", "hybrid")

    @property
    def group_aggregate_tp(self) -> bool:
        return self.tp_mode in ("aggregate", "hybrid") and self.tp_aggregate_percent > 0

    @property
    def pyramid_aggregate_tp(self) -> bool:
        return self.tp_mode == "pyramid_aggregate" and self.tp_aggregate_percent > 0

    @property
    def resting_leg_tp(self) -> bool:
        """Per-leg TPs rest on the exchange as limit orders."""
        return self.per_leg_tp and self.tp_order_type == "limit"

    @property
    def watched_leg_tp(self) -> bool:
        """Per-leg TPs are watched by the engine and closed with market orders."""
        return self.per_leg_tp and self.tp_order_type == "market"


@dataclass(slots=True)
class CloseAllocation:
    """The part of a closing order that belongs to one leg."""

    pyramid_index: int
    leg_index: int
    quantity: Decimal
    filled: Decimal = ZERO


@dataclass(slots=True)
class OrderState:
    """One order the engine decided to send, as it evolves on the exchange."""

    client_order_id: str
    user_id: str
    exchange: str
    symbol: str
    side: OrderSide
    type: OrderType
    quantity: Decimal
    price: Decimal | None
    purpose: OrderPurpose
    group_id: str
    pyramid_index: int | None
    leg_index: int | None
    reference_price: Decimal  # limit price, or the price a market order was sized at
    created_at_ms: int
    updated_at_ms: int
    status: OrderStatus = OrderStatus.PENDING
    exchange_order_id: str = ""
    filled_quantity: Decimal = ZERO
    filled_cost: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    cancel_requested: bool = False
    allocations: list[CloseAllocation] = field(default_factory=list)
    trade_ids: list[str] = field(default_factory=list)
    reject_reason: str | None = None
    reduce_only: bool = False
    reserving: bool = False  # holds its allocations on the legs (market closes)
    sequence: int = 0  # engine-wide decision order

    @property
    def is_live(self) -> bool:
        return self.status in _LIVE

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def average_price(self) -> Decimal | None:
        if self.filled_quantity == 0:
            return None
        return self.filled_cost / self.filled_quantity

    @property
    def is_close(self) -> bool:
        return self.purpose in CLOSE_PURPOSES

    @property
    def is_entry(self) -> bool:
        return self.purpose in ENTRY_PURPOSES


@dataclass(slots=True)
class LegState:
    """One DCA leg: its plan, its entry fills (average cost) and what has been closed.

    ``open_quantity`` is what the account holds for this leg: the gross filled quantity less
    the fees the exchange took in the base asset out of the bought quantity (Binance spot
    buys) and less what has been closed. ``open_cost`` is the cost basis of that quantity:
    a base-asset fee removes its share at the fill price and a close removes the
    proportional share, so ``open_cost / open_quantity`` stays the leg's average fill price
    and realised + unrealised equals the mark-to-market of every fill exactly. Only whole
    steps of the open quantity can be sold; the remainder below one step is the leg's dust
    (``engine.accounting.sellable``).
    """

    index: int
    level: Level
    planned_price: Decimal | None = None  # None: market order, or not planned yet
    planned_quantity: Decimal = ZERO
    planned: bool = False
    entry_order_id: str | None = None
    filled_quantity: Decimal = ZERO  # gross, as the exchange filled the entry order
    base_fee_quantity: Decimal = ZERO  # base asset kept by the exchange as entry fees
    entry_cost: Decimal = ZERO  # Σ fill qty × fill price (for the average fill price)
    open_cost: Decimal = ZERO
    closed_quantity: Decimal = ZERO
    reserved_quantity: Decimal = ZERO  # allocated to closing orders still in flight
    realised_usd: Decimal = ZERO  # net of every fee of this leg
    fees_usd: Decimal = ZERO  # fees in the quote currency (or converted, see accounting)
    fees: dict[str, Decimal] = field(default_factory=dict)  # as reported, per asset
    tp_order_id: str | None = None
    tp_retry_after_ms: int | None = None
    closed_by_tp: bool = False

    @property
    def open_quantity(self) -> Decimal:
        """Held quantity: net of base-asset entry fees, less what has been closed."""
        return self.filled_quantity - self.base_fee_quantity - self.closed_quantity

    @property
    def available_quantity(self) -> Decimal:
        """Open quantity not already promised to a closing order in flight."""
        return self.open_quantity - self.reserved_quantity

    @property
    def average_fill_price(self) -> Decimal | None:
        if self.filled_quantity == 0:
            return None
        return self.entry_cost / self.filled_quantity


@dataclass(slots=True)
class PyramidState:
    """One entry into a group and its grid."""

    index: int
    signal_id: str
    capital: Decimal
    entry_price: Decimal
    levels: tuple[Level, ...]
    legs: list[LegState]
    created_at_ms: int
    leg0_fill_price: Decimal | None = None
    dca_placed: bool = False
    failed: bool = False
    aggregate_closed: bool = False  # pyramid_aggregate TP fired for this pyramid


@dataclass(slots=True)
class CloseTarget:
    pyramid_index: int
    leg_index: int
    quantity: Decimal


@dataclass(slots=True)
class CloseIntent:
    """A partial close decided but not yet sent: it waits until the resting orders that
    could close the same quantity (per-leg limit TPs, a pyramid's resting legs) are
    cancelled, so nothing is ever closed twice."""

    intent_id: str
    purpose: OrderPurpose
    targets: list[CloseTarget]
    cancel_order_ids: list[str]
    created_at_ms: int
    pyramid_index: int | None = None  # pyramid_aggregate: the pyramid being closed
    risk_action_id: str | None = None


@dataclass(slots=True)
class GroupState:
    """A position group (SPEC §6)."""

    group_id: str
    user_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: PositionSide
    settings: GroupSettings
    created_at_ms: int
    updated_at_ms: int
    status: GroupStatus = GroupStatus.LIVE
    pyramids: list[PyramidState] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    intents: list[CloseIntent] = field(default_factory=list)
    closed_at_ms: int | None = None
    closing_purpose: OrderPurpose | None = None
    close_reason: str | None = None
    close_retry_after_ms: int | None = None
    stop_price: Decimal | None = None  # from the signal's risk.stop_loss
    take_profit_price: Decimal | None = None  # from the signal's risk.take_profit
    timer_started_at_ms: int | None = None
    risk_blocked: bool = False
    skip_once: bool = False
    sequences: dict[str, int] = field(default_factory=dict)
    dust_quantity: Decimal = ZERO  # open quantity left unsold when the group closed
    sequence: int = 0  # creation order (the number in the group id)
    revision: int = 0  # bumped whenever fills or signal levels change the group's figures

    @property
    def key(self) -> GroupKey:
        return GroupKey(self.user_id, self.exchange, self.symbol, self.timeframe, self.side)

    @property
    def is_open(self) -> bool:
        return self.status.holds_slot

    @property
    def legs(self) -> list[LegState]:
        return [leg for pyramid in self.pyramids for leg in pyramid.legs]

    def leg(self, pyramid_index: int, leg_index: int) -> LegState:
        return self.pyramids[pyramid_index].legs[leg_index]

    @property
    def open_quantity(self) -> Decimal:
        return sum((leg.open_quantity for leg in self.legs), ZERO)

    @property
    def open_cost(self) -> Decimal:
        return sum((leg.open_cost for leg in self.legs), ZERO)

    @property
    def available_quantity(self) -> Decimal:
        return sum((leg.available_quantity for leg in self.legs), ZERO)

    @property
    def realised_usd(self) -> Decimal:
        return sum((leg.realised_usd for leg in self.legs), ZERO)

    @property
    def average_entry(self) -> Decimal | None:
        quantity = self.open_quantity
        if quantity == 0:
            return None
        return self.open_cost / quantity

    def next_sequence(self, name: str) -> int:
        value = self.sequences.get(name, 0)
        self.sequences[name] = value + 1
        return value


@dataclass(slots=True)
class QueueEntry:
    """A signal waiting in the user's queue (SPEC §7)."""

    queue_id: str
    signal: Signal
    queued_at_ms: int
    sequence: int
    reason: str
    replacement_count: int = 0
    updated_at_ms: int = 0

    @property
    def key(self) -> GroupKey:
        return self.signal.group_key()


@dataclass(slots=True)
class UserState:
    user_id: str
    config: object  # engine.config.UserConfig (typed at the use sites)
    queue: list[QueueEntry] = field(default_factory=list)
    fingerprints: dict[str, int] = field(default_factory=dict)  # fingerprint -> accepted at
    realised_by_day: dict[int, Decimal] = field(default_factory=dict)  # UTC day -> realised
    exchange_states: dict[str, str] = field(default_factory=dict)
    last_risk_run_ms: int | None = None


@dataclass(slots=True)
class Counters:
    groups: int = 0
    orders: int = 0
    queue: int = 0
    risk_actions: int = 0
    intents: int = 0


@dataclass(slots=True)
class EngineState:
    """Everything the engine knows; snapshotted and restored as a whole."""

    namespace: str
    now_ms: int = 0
    counters: Counters = field(default_factory=Counters)
    users: dict[str, UserState] = field(default_factory=dict)
    groups: dict[str, GroupState] = field(default_factory=dict)
    open_group_ids: list[str] = field(default_factory=list)  # slot holders, oldest first
    orders: dict[str, OrderState] = field(default_factory=dict)
    rules: dict[str, dict[str, MarketRules]] = field(default_factory=dict)  # exchange -> symbol
    listings: dict[str, bool] = field(default_factory=dict)  # exchange -> complete listing
    marks: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # exchange -> symbol

    def mark(self, exchange: str, symbol: str) -> Decimal | None:
        return self.marks.get(exchange, {}).get(symbol)

    def open_groups(self, user_id: str | None = None) -> list[GroupState]:
        groups = (self.groups[group_id] for group_id in self.open_group_ids)
        return [group for group in groups if user_id is None or group.user_id == user_id]

    def open_group_for(self, key: GroupKey) -> GroupState | None:
        for group_id in self.open_group_ids:
            group = self.groups[group_id]
            if group.key == key:
                return group
        return None
