"""What the flow knows while it runs: per-trade state, per-phase logs of checks and
fallbacks, and the context every phase function receives."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from qtrade.e2e.api import Calls
from qtrade.e2e.predictor import PathPredictor, Prediction, PredictionSource
from qtrade.e2e.prices import LegSize, MarketInfo
from qtrade.e2e.settings import FlowSettings
from reports import CheckResult, TradeRecord

__all__ = [
    "FlowStopped",
    "SignalNote",
    "TradeState",
    "PhaseLog",
    "FlowState",
    "FlowContext",
]


class FlowStopped(Exception):
    """Initialisation failed: the flow stops (the error chart's only fatal phase)."""


@dataclass(frozen=True, slots=True)
class SignalNote:
    """What signal generation made of one prediction: ``status`` is ``actionable``,
    ``filtered`` (not a trade for this account: low confidence, short on spot) or
    ``skipped`` (an error: the flow's "skip signal, continue")."""

    symbol: str
    action: str | None
    side: str | None
    status: str
    reason: str | None = None


@dataclass
class TradeState:
    """One trade from signal to settlement. ``status``: ``signal`` → ``planned`` →
    ``placed`` → ``filled`` → ``closed`` / ``open``, or ``rejected`` (risk gate) /
    ``failed`` (order placement). ``simulated`` names the fallbacks that stood in for it
    (``fill``, ``position``)."""

    symbol: str
    side: str
    prediction: Prediction
    reference_price: Decimal
    status: str = "signal"
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    legs: list[LegSize] = field(default_factory=list)
    trade_id: str | None = None
    order_id: str | None = None
    fill_quantity: Decimal | None = None
    fill_price: Decimal | None = None
    # base asset the exchange kept as the entry fill's fee (its fill records): a long holds
    # fill_quantity - fill_base_fee
    fill_base_fee: Decimal = Decimal(0)
    simulated: set[str] = field(default_factory=set)
    exit_plan: str | None = None
    exit_target: Decimal | None = None
    exit_result: str | None = None
    settled_by_flow: bool = False
    failure: str | None = None
    record: TradeRecord | None = None

    @property
    def is_real(self) -> bool:
        """Filled on the exchange (not a simulated stand-in)."""
        return self.status in ("filled", "closed", "open") and "fill" not in self.simulated


class PhaseLog:
    """Checks and fallbacks of one phase. A phase is complete only when it ran to the end,
    used no degrading fallback and every check passed."""

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.checks: list[CheckResult] = []
        self.fallback: str | None = None
        self.degraded = False
        self.error: str | None = None
        self.seconds = Decimal(0)

    def check(self, name: str, passed: bool, message: str = "") -> bool:
        self.checks.append(CheckResult(self.phase, name, bool(passed), message))
        return bool(passed)

    def use_fallback(self, name: str, *, degraded: bool = True) -> None:
        """Record the fallback this phase used (``degraded=False``: a mode chosen by the
        settings, e.g. no AI engine configured, which is not a failure)."""
        self.fallback = name if self.fallback in (None, name) else f"{self.fallback}, {name}"
        self.degraded = self.degraded or degraded

    @property
    def state(self) -> str:
        ok = self.error is None and not self.degraded and all(c.passed for c in self.checks)
        return "complete" if ok else "failed"


@dataclass
class FlowState:
    markets: dict[str, MarketInfo] = field(default_factory=dict)
    grid_levels: list[dict[str, Decimal]] = field(default_factory=list)
    metrics_before: dict[str, Decimal] = field(default_factory=dict)
    start_clock_ms: int = 0
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    observed: dict[str, list[Decimal]] = field(default_factory=dict)
    predictions: dict[str, Prediction] = field(default_factory=dict)
    prediction_errors: dict[str, str] = field(default_factory=dict)
    signals: list[SignalNote] = field(default_factory=list)
    trades: list[TradeState] = field(default_factory=list)
    engine_latencies_ms: dict[str, list[int]] = field(default_factory=dict)

    def trade(self, symbol: str) -> TradeState | None:
        return next((t for t in self.trades if t.symbol == symbol), None)


@dataclass
class FlowContext:
    """Everything a phase function gets."""

    settings: FlowSettings
    calls: Calls
    predictor: PredictionSource | None
    fallback: PathPredictor
    state: FlowState = field(default_factory=FlowState)
    perf_counter: Callable[[], float] = time.perf_counter
    wall_latencies_ms: dict[str, list[int]] = field(default_factory=dict)

    def timed_ms(self, kind: str, started: float) -> None:
        elapsed = self.perf_counter() - started
        self.wall_latencies_ms.setdefault(kind, []).append(max(0, round(elapsed * 1000)))
