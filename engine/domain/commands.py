"""Commands the engine returns (imperative) and the records it writes for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.domain.enums import Category, OrderPurpose, OrderSide, OrderType, Severity

__all__ = [
    "Command",
    "PlaceOrder",
    "CancelOrder",
    "RefreshMarketRules",
    "SignalOutcome",
    "AuditEvent",
    "RiskAction",
    "RiskWinnerClose",
    "Decision",
]


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Send one order. ``price`` is ``None`` for market orders. Quantity and price are
    already rounded to the market's step and tick and pass its minimums."""

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
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: str
    user_id: str
    exchange: str
    symbol: str


@dataclass(frozen=True, slots=True)
class RefreshMarketRules:
    """Ask the runner to reload market metadata (SPEC §5)."""

    exchange: str
    symbol: str | None = None


Command = PlaceOrder | CancelOrder | RefreshMarketRules


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """What the engine decided for one signal (SPEC §2)."""

    signal_id: str
    outcome: str
    reason: str | None
    group_id: str | None
    queue_id: str | None
    at_ms: int


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the append-only audit log (SPEC §11)."""

    category: Category
    severity: Severity
    message: str
    at_ms: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RiskWinnerClose:
    group_id: str
    quantity: Decimal
    realised_usd: Decimal  # estimated at decision time, net of estimated fees


@dataclass(frozen=True, slots=True)
class RiskAction:
    """One risk-engine offset (SPEC §9)."""

    action_id: str
    user_id: str
    loser_group_id: str
    loser_loss_percent: Decimal
    loser_loss_usd: Decimal
    loser_close_quantity: Decimal
    covered_usd: Decimal
    winners: tuple[RiskWinnerClose, ...]
    net_usd: Decimal
    at_ms: int


Record = SignalOutcome | AuditEvent | RiskAction


@dataclass(slots=True)
class Decision:
    """Everything the engine decided while handling one event."""

    commands: list[Command] = field(default_factory=list)
    outcomes: list[SignalOutcome] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    risk_actions: list[RiskAction] = field(default_factory=list)

    def extend(self, other: Decision) -> None:
        self.commands.extend(other.commands)
        self.outcomes.extend(other.outcomes)
        self.audit.extend(other.audit)
        self.risk_actions.extend(other.risk_actions)
