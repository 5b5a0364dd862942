"""What a replay writes down: fills, orders placed, signal outcomes, risk actions, queue
events, rejections, per-group trade summaries, equity and exposure samples.

Everything here is plain data in engine terms (Decimals, epoch ms). The report is built from
it (:mod:`backtest.report`), and the step/fast equivalence is checked on it
(:meth:`Recording.decisions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.domain import ZERO, RiskAction, Signal, SignalOutcome
from reports.records import EquityPoint, ExposurePoint, QueueEventRecord

__all__ = [
    "FillEntry",
    "OrderEntry",
    "OutcomeEntry",
    "RejectionEntry",
    "SkippedSignal",
    "TradeSummary",
    "Recording",
]


@dataclass(frozen=True, slots=True)
class FillEntry:
    at_ms: int
    user_id: str
    exchange: str
    symbol: str
    group_id: str
    pyramid_index: int | None
    leg_index: int | None
    purpose: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    fee_quote: Decimal  # the fee valued in the quote currency (base fees at the fill price)
    client_order_id: str
    trade_id: str


@dataclass(frozen=True, slots=True)
class OrderEntry:
    at_ms: int
    user_id: str
    client_order_id: str
    exchange: str
    symbol: str
    side: str
    type: str
    quantity: Decimal
    price: Decimal | None
    purpose: str
    group_id: str


@dataclass(frozen=True, slots=True)
class OutcomeEntry:
    user_id: str
    outcome: SignalOutcome
    line: int | None


@dataclass(frozen=True, slots=True)
class RejectionEntry:
    at_ms: int
    user_id: str
    client_order_id: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class SkippedSignal:
    line: int
    user_id: str
    at_ms: int
    reason: str


@dataclass(slots=True)
class TradeSummary:
    """One position group as a trade: entry and close fills folded, plus the engine's final
    figures for it (status, close reason, realised PnL) from its last view."""

    user_id: str
    group_id: str
    exchange: str
    symbol: str
    side: str
    timeframe: int
    entry_quantity: Decimal = ZERO
    entry_cost: Decimal = ZERO
    close_quantity: Decimal = ZERO
    close_proceeds: Decimal = ZERO
    fees_quote: Decimal = ZERO
    first_entry_ms: int | None = None
    last_close_ms: int | None = None
    status: str = "live"
    close_reason: str | None = None
    closed_at_ms: int | None = None
    realised_usd: Decimal = ZERO
    open_quantity: Decimal = ZERO
    pyramids: int = 0

    def add_fill(self, fill: FillEntry, is_entry: bool) -> None:
        self.fees_quote += fill.fee_quote
        if is_entry:
            self.entry_quantity += fill.quantity
            self.entry_cost += fill.quantity * fill.price
            if self.first_entry_ms is None:
                self.first_entry_ms = fill.at_ms
        else:
            self.close_quantity += fill.quantity
            self.close_proceeds += fill.quantity * fill.price
            self.last_close_ms = fill.at_ms


@dataclass(slots=True)
class Recording:
    """Everything one replay recorded (all users)."""

    fills: list[FillEntry] = field(default_factory=list)
    orders: list[OrderEntry] = field(default_factory=list)
    outcomes: list[OutcomeEntry] = field(default_factory=list)
    risk_actions: list[RiskAction] = field(default_factory=list)
    rejections: list[RejectionEntry] = field(default_factory=list)
    queue_events: list[QueueEventRecord] = field(default_factory=list)
    skipped: list[SkippedSignal] = field(default_factory=list)
    trades: dict[tuple[str, str], TradeSummary] = field(default_factory=dict)
    equity: list[EquityPoint] = field(default_factory=list)
    exposure: list[ExposurePoint] = field(default_factory=list)
    signals: dict[tuple[str, str], Signal] = field(default_factory=dict)

    def trade(self, user_id: str, group_id: str) -> TradeSummary | None:
        return self.trades.get((user_id, group_id))

    def decisions(self) -> dict[str, Any]:
        """The replay's decisions and their results, for comparing two runs: every order
        placed, fill, outcome, rejection and risk action, and each trade's final figures."""
        return {
            "orders": list(self.orders),
            "fills": list(self.fills),
            "outcomes": [(o.user_id, o.outcome) for o in self.outcomes],
            "rejections": list(self.rejections),
            "risk_actions": list(self.risk_actions),
            "trades": sorted(
                (
                    key,
                    t.status,
                    t.close_reason,
                    t.closed_at_ms,
                    t.realised_usd,
                    t.open_quantity,
                    t.entry_quantity,
                    t.close_quantity,
                )
                for key, t in self.trades.items()
            ),
        }
