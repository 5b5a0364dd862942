"""The e2e prediction-to-profit flow: nine phases run in order, each with the fallback of the
seed flow's error chart when something in it fails.

| phase | on error |
|---|---|
| initialization | stop the flow (fatal) |
| prediction | synthetic prediction from the price path, continue |
| signal_generation | skip that signal, continue with the others |
| entry_logic, order_placement | mark the trade FAILED, continue |
| fill_verification | simulate the fill, continue |
| position_monitoring | simulate the position, continue |
| profit_taking | continue to settlement |
| settlement | report with the current state |

A phase is ``complete`` when it ran to the end without a degrading fallback and all its
checks passed, ``failed`` otherwise, ``not_run`` after a stop.

Use :func:`run_flow` with anything that fits :class:`~qtrade.e2e.api.ServiceApi`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from qtrade.e2e.api import Calls, ServiceApi
from qtrade.e2e.phases_close import (
    fill_verification,
    position_monitoring,
    profit_taking,
    record_current_state,
    settlement,
    simulate_fill,
    simulate_position,
)
from qtrade.e2e.phases_open import (
    entry_logic,
    initialization,
    order_placement,
    prediction,
    signal_generation,
    synthesize_missing_predictions,
)
from qtrade.e2e.predictor import (
    HttpPredictor,
    PathPredictor,
    Prediction,
    PredictionSource,
    ServicePredictor,
)
from qtrade.e2e.settings import FlowSettings
from qtrade.e2e.state import FlowContext, FlowStopped, PhaseLog, SignalNote, TradeState
from reports import E2E_PHASES, CheckResult, TradeRecord

__all__ = ["PHASE_FALLBACKS", "PhaseOutcome", "FlowResult", "run_flow"]

PhaseFn = Callable[[FlowContext, PhaseLog], None]

PHASE_FALLBACKS = {
    "initialization": "stop",
    "prediction": "synthetic_prediction",
    "signal_generation": "signal_skipped",
    "entry_logic": "trade_failed",
    "order_placement": "trade_failed",
    "fill_verification": "simulated_fill",
    "position_monitoring": "simulated_position",
    "profit_taking": "continue_to_settlement",
    "settlement": "report_current_state",
}


@dataclass(frozen=True, slots=True)
class PhaseOutcome:
    name: str
    state: str
    fallback: str | None
    error: str | None
    seconds: Decimal
    checks: tuple[CheckResult, ...]


@dataclass(frozen=True)
class FlowResult:
    """Everything one run produced (build the report with :func:`qtrade.e2e.flow_report`)."""

    settings: FlowSettings
    started: datetime
    completed: datetime
    phases: tuple[PhaseOutcome, ...]
    predictions: tuple[Prediction, ...]
    prediction_errors: dict[str, str]
    signals: tuple[SignalNote, ...]
    trades: tuple[TradeState, ...]
    engine_latencies_ms: dict[str, list[int]] = field(default_factory=dict)
    wall_latencies_ms: dict[str, list[int]] = field(default_factory=dict)
    stopped: str | None = None

    @property
    def checks(self) -> list[CheckResult]:
        return [check for phase in self.phases for check in phase.checks]

    @property
    def phase_states(self) -> dict[str, str]:
        return {phase.name: phase.state for phase in self.phases}

    @property
    def records(self) -> list[TradeRecord]:
        return [t.record for t in self.trades if t.record is not None]

    @property
    def orders_placed(self) -> int:
        """Entry orders the exchange accepted (the fill rate's denominator)."""
        return sum(1 for t in self.trades if t.order_id is not None)

    @property
    def orders_filled(self) -> int:
        return sum(1 for t in self.trades if t.order_id is not None and t.is_real)


# --------------------------------------------------------------------------- recoveries


def _recover_signals(ctx: FlowContext, log: PhaseLog) -> None:
    noted = {note.symbol for note in ctx.state.signals}
    for symbol in ctx.settings.symbols:
        if symbol not in noted:
            ctx.state.signals.append(SignalNote(symbol, None, None, "skipped", log.error))


def _recover_trades(status: str) -> PhaseFn:
    def recover(ctx: FlowContext, log: PhaseLog) -> None:
        for trade in ctx.state.trades:
            if trade.status == status:
                trade.status, trade.failure = "failed", log.error

    return recover


def _recover_fills(ctx: FlowContext, log: PhaseLog) -> None:
    for trade in ctx.state.trades:
        if trade.status == "placed":
            simulate_fill(trade, log, f"fill verification interrupted: {log.error}")


def _recover_positions(ctx: FlowContext, log: PhaseLog) -> None:
    seen = {c.name for c in log.checks}
    for trade in ctx.state.trades:
        if trade.status == "filled" and f"{trade.symbol} position tracked" not in seen:
            simulate_position(trade, log, f"monitoring interrupted: {log.error}")


def _nothing(ctx: FlowContext, log: PhaseLog) -> None:
    """Profit taking: go on to settlement as things stand."""


def _recover_settlement(ctx: FlowContext, log: PhaseLog) -> None:
    record_current_state(ctx)


_PHASES: tuple[tuple[str, PhaseFn, PhaseFn], ...] = (
    ("initialization", initialization, _nothing),
    ("prediction", prediction, synthesize_missing_predictions),
    ("signal_generation", signal_generation, _recover_signals),
    ("entry_logic", entry_logic, _recover_trades("signal")),
    ("order_placement", order_placement, _recover_trades("planned")),
    ("fill_verification", fill_verification, _recover_fills),
    ("position_monitoring", position_monitoring, _recover_positions),
    ("profit_taking", profit_taking, _nothing),
    ("settlement", settlement, _recover_settlement),
)
assert tuple(name for name, _, _ in _PHASES) == E2E_PHASES


def _seconds(value: float) -> Decimal:
    return Decimal(round(value * 1_000_000)) / 1_000_000


def _default_predictor(api: ServiceApi, settings: FlowSettings) -> PredictionSource | None:
    if not settings.use_ai:
        return None
    if settings.ai_url is not None:
        return HttpPredictor(settings.ai_url, timeout_seconds=settings.ai_timeout_seconds)
    return ServicePredictor(api)


def run_flow(
    api: ServiceApi,
    settings: FlowSettings,
    *,
    predictor: PredictionSource | None = None,
    wall_clock: Callable[[], datetime] | None = None,
    perf_counter: Callable[[], float] = time.perf_counter,
) -> FlowResult:
    """Run the nine phases against the service behind ``api``.

    ``predictor`` overrides the AI engine chosen by the settings (``ai_url``, else the
    service's ``/signals/predict``; none when ``use_ai`` is false). Engine and exchange time
    are the simulator's; ``wall_clock``/``perf_counter`` only feed the report's wall-clock
    fields. Never raises for what happens inside a phase: errors become failed checks and
    the phase's fallback.
    """
    now = wall_clock or (lambda: datetime.now(UTC))
    owned = predictor is None
    source = predictor if predictor is not None else _default_predictor(api, settings)
    ctx = FlowContext(
        settings, Calls(api, perf_counter), source, PathPredictor(), perf_counter=perf_counter
    )
    started = now()
    outcomes: list[PhaseOutcome] = []
    stopped: str | None = None
    try:
        for name, run, recover in _PHASES:
            log = PhaseLog(name)
            if stopped is not None:
                outcomes.append(PhaseOutcome(name, "not_run", None, None, Decimal(0), ()))
                continue
            begin = perf_counter()
            if name != "initialization":
                _ping(ctx)
            try:
                run(ctx, log)
            except FlowStopped as exc:
                log.error = stopped = str(exc)
                log.use_fallback(PHASE_FALLBACKS[name])
            except Exception as exc:  # the error chart: every phase falls back, none crashes
                log.error = f"{type(exc).__name__}: {exc}"
                log.check(f"{name} ran to the end", False, log.error)
                if name == "initialization":
                    stopped = log.error
                else:
                    recover(ctx, log)
                log.use_fallback(PHASE_FALLBACKS[name])
            outcomes.append(
                PhaseOutcome(
                    name,
                    log.state,
                    log.fallback,
                    log.error,
                    _seconds(perf_counter() - begin),
                    tuple(log.checks),
                )
            )
    finally:
        if owned and isinstance(source, HttpPredictor):
            source.close()
    state = ctx.state
    wall = dict(ctx.wall_latencies_ms)
    for kind, samples in ctx.calls.latencies_ms.items():
        if samples:
            wall[kind] = list(samples)
    return FlowResult(
        settings=settings,
        started=started,
        completed=now(),
        phases=tuple(outcomes),
        predictions=tuple(state.predictions[s] for s in settings.symbols if s in state.predictions),
        prediction_errors=dict(state.prediction_errors),
        signals=tuple(state.signals),
        trades=tuple(state.trades),
        engine_latencies_ms={k: list(v) for k, v in state.engine_latencies_ms.items()},
        wall_latencies_ms=wall,
        stopped=stopped,
    )


def _ping(ctx: FlowContext) -> None:
    """One ``GET /health`` round trip per phase: the flow's network latency KPI."""
    started = ctx.perf_counter()
    try:
        ctx.calls.api.request("GET", "/health")
    except Exception:  # a failed ping is not a phase failure; the phase's own calls tell
        return
    ctx.timed_ms("network_round_trip", started)
