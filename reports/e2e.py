"""The e2e prediction-to-profit report (``e2e_report.json``, SPEC §13, the flow's schema).

Status rule, from the flow's success-criteria matrix, with "tests" = the flow's checks:
- ``SUCCESS``: all nine phases complete and more than 90 % of the checks passed;
- ``PARTIAL``: at least seven phases complete and more than 70 % passed;
- ``FAILURE``: anything else (no checks at all counts as 0 % passed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from engine.domain import ZERO
from reports import metrics
from reports.model import (
    E2E_PHASE_LABELS,
    E2E_PHASES,
    E2ECheck,
    E2EKpis,
    E2EPhase,
    E2EReport,
    E2ESummary,
)
from reports.numbers import iso_wall, money, opt_money, opt_ratio, seconds
from reports.records import CheckResult, ReportInputError, TradeRecord
from reports.sections import (
    DEFAULT_MAX_CHART_POINTS,
    closed_pnls,
    equity_rows,
    histogram_rows,
    latency_rows,
    per_symbol_rows,
    realised_equity_curve,
    trade_rows,
    wall_clock_section,
)

__all__ = [
    "PHASE_STATES",
    "SUCCESS_PASS_RATE",
    "PARTIAL_PASS_RATE",
    "PARTIAL_MIN_PHASES",
    "TAKE_PROFIT_REASONS",
    "e2e_status",
    "build_e2e_report",
]

PHASE_STATES = ("complete", "failed", "not_run")
SUCCESS_PASS_RATE = Decimal("0.9")
PARTIAL_PASS_RATE = Decimal("0.7")
PARTIAL_MIN_PHASES = 7
TAKE_PROFIT_REASONS = frozenset({"take_profit", "tp", "aggregate_tp"})


def e2e_status(phases_completed: int, passed_tests: int, failed_tests: int) -> str:
    """SUCCESS / PARTIAL / FAILURE by the flow's thresholds (strictly greater than 90 % / 70 %)."""
    for name, value in (
        ("phases_completed", phases_completed),
        ("passed_tests", passed_tests),
        ("failed_tests", failed_tests),
    ):
        if value < 0:
            raise ReportInputError(name, "negative", str(value))
    if phases_completed > len(E2E_PHASES):
        raise ReportInputError("phases_completed", "out_of_range", f"{phases_completed} > 9")
    total = passed_tests + failed_tests
    pass_rate = Decimal(passed_tests) / total if total else ZERO
    if phases_completed == len(E2E_PHASES) and pass_rate > SUCCESS_PASS_RATE:
        return "SUCCESS"
    if phases_completed >= PARTIAL_MIN_PHASES and pass_rate > PARTIAL_PASS_RATE:
        return "PARTIAL"
    return "FAILURE"


def _phase_states(phases: Mapping[str, str]) -> dict[str, str]:
    for name, state in phases.items():
        if name not in E2E_PHASES:
            raise ReportInputError(
                f"phases.{name}", "unknown_phase", f"expected one of {E2E_PHASES}"
            )
        if state not in PHASE_STATES:
            raise ReportInputError(f"phases.{name}", "bad_state", f"expected one of {PHASE_STATES}")
    return {name: phases.get(name, "not_run") for name in E2E_PHASES}


def build_e2e_report(
    *,
    started: datetime,
    completed: datetime,
    phases: Mapping[str, str],
    checks: Sequence[CheckResult],
    trades: Sequence[TradeRecord],
    orders_placed: int = 0,
    orders_filled: int = 0,
    fallbacks: Mapping[str, str] | None = None,
    latencies_ms: Mapping[str, Sequence[int]] | None = None,
    wall_latencies_ms: Mapping[str, Sequence[int]] | None = None,
    phase_seconds: Mapping[str, Decimal] | None = None,
    starting_equity: Decimal = ZERO,
    title: str = "E2E prediction-to-profit flow",
    max_chart_points: int = DEFAULT_MAX_CHART_POINTS,
) -> E2EReport:
    """Compute the e2e report from what happened: each phase's state (``complete``,
    ``failed``, ``not_run``; missing phases are ``not_run``), every check, every trade.

    ``latencies_ms`` are engine-time latencies (deterministic, in ``kpis``);
    ``wall_latencies_ms`` and ``phase_seconds`` are measured on the wall clock and go to the
    ``wall_clock`` section. ``fallbacks`` names the fallback a phase used (the flow's error
    chart: synthetic prediction, simulated fill...).
    """
    states = _phase_states(phases)
    fallbacks = dict(fallbacks or {})
    for name in fallbacks:
        if name not in E2E_PHASES:
            raise ReportInputError(f"fallbacks.{name}", "unknown_phase", "not an e2e phase")
    for check in checks:
        if check.phase not in E2E_PHASES:
            raise ReportInputError(f"checks[{check.name!r}].phase", "unknown_phase", check.phase)
    passed = sum(1 for c in checks if c.passed)
    failed = len(checks) - passed
    completed_phases = sum(1 for state in states.values() if state == "complete")

    rows = trade_rows(trades)
    pnls = closed_pnls(trades)
    returns = [r for r in (t.return_percent for t in trades) if r is not None]
    curve = realised_equity_curve(trades, starting_equity)
    drawdown = metrics.max_drawdown([p.total for p in curve])
    tp_hits = sum(1 for t in trades if t.is_closed and t.exit_reason in TAKE_PROFIT_REASONS)

    summary = E2ESummary(
        total_trades=len(trades),
        closed_trades=len(pnls),
        total_profit=money(sum((t.realised_pnl for t in trades), ZERO)),
        average_profit_percent=opt_ratio(sum(returns, ZERO) / len(returns) if returns else None),
        passed_tests=passed,
        failed_tests=failed,
        win_rate=opt_ratio(metrics.win_rate(pnls)),
        profit_factor=opt_ratio(metrics.profit_factor(pnls)),
    )
    kpis = E2EKpis(
        pass_rate=opt_ratio(Decimal(passed) / len(checks) if checks else None),
        orders_placed=orders_placed,
        orders_filled=orders_filled,
        fill_rate=opt_ratio(metrics.fill_rate(orders_placed, orders_filled)),
        tp_hit_rate=opt_ratio(Decimal(tp_hits) / len(pnls) if pnls else None),
        win_rate=summary.win_rate,
        profit_factor=summary.profit_factor,
        average_profit=opt_money(sum(pnls, ZERO) / len(pnls) if pnls else None),
        max_drawdown=money(drawdown.absolute),
        max_drawdown_percent=opt_ratio(drawdown.percent),
        latencies=latency_rows(latencies_ms or {}),
    )
    wall = wall_clock_section(
        started, completed, phase_seconds=phase_seconds, latencies_ms=wall_latencies_ms
    )
    assert wall.duration_seconds is not None
    return E2EReport(
        status=e2e_status(completed_phases, passed, failed),  # type: ignore[arg-type]
        test_started=iso_wall(started),
        test_completed=iso_wall(completed),
        duration_seconds=seconds(wall.duration_seconds),
        phases_completed={name: E2E_PHASE_LABELS[state] for name, state in states.items()},
        summary=summary,
        trades=rows,
        title=title,
        phases=[
            E2EPhase(
                name=name,
                state=state,  # type: ignore[arg-type]
                fallback=fallbacks.get(name),
                passed_tests=sum(1 for c in checks if c.phase == name and c.passed),
                failed_tests=sum(1 for c in checks if c.phase == name and not c.passed),
            )
            for name, state in states.items()
        ],
        checks=[
            E2ECheck(phase=c.phase, name=c.name, passed=c.passed, message=c.message) for c in checks
        ],
        kpis=kpis,
        equity=equity_rows(curve, max_chart_points),
        histogram=histogram_rows(trades),
        per_symbol=per_symbol_rows(trades),
        wall_clock=wall,
    )
